"""Each subcommand module registers its commands on any argparse parser, alone.

No AWS and no environments file: only the parsing of the command line.
"""

from __future__ import annotations

import argparse

from pytest_ohpen.cli import data, state

RUN = "0c21"


def test_register_adds_the_data_subcommands() -> None:
    parser = argparse.ArgumentParser()
    data.register(parser.add_subparsers())

    args = parser.parse_args(
        ["data", "rollback", "--env", "prod", "--layer", "silver", "--to", RUN, "--reason", "x"]
    )

    assert (args.layer, args.to, args.reason, args.apply) == ("silver", RUN, "x", False)
    assert callable(args.handler)
    assert callable(parser.parse_args(["data", "runs", "--layer", "silver"]).handler)


def test_register_adds_the_state_subcommands() -> None:
    """A plain argparse parser built from register() alone parses every subcommand."""
    parser = argparse.ArgumentParser()
    state.register(parser.add_subparsers())
    args = parser.parse_args(["state", "restore", "v-1", "--env", "prod", "--apply"])

    assert (args.version, args.from_file, args.apply, args.env) == ("v-1", None, True, "prod")
    assert callable(args.handler)
    for command in (["versions"], ["fetch", "v", "--out", "f"], ["backup", "--out", "f"]):
        assert callable(parser.parse_args(["state", *command]).handler)
