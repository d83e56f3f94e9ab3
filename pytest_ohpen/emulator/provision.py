"""Build the embedded account: the backend's bucket and table, the stack as its recorded
Terraform applies left it, the state versions those applies wrote, and some data.

The stack itself is never described here: it is ``infra/terraform``, deployed for real by
``history.record`` and rebuilt from that record by the provider's own code. Only the
embedded account is ever provisioned: ``server.EmbeddedAccount`` calls this with clients
pointed at its own loopback address.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pytest_ohpen.emulator.backend import create_backend
from pytest_ohpen.emulator.glue_runs import seed_history
from pytest_ohpen.emulator.history import History, history_key, load, record, reset_account, save
from pytest_ohpen.emulator.stack import Stack

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients


def provision(clients: AwsClients, stack: Stack) -> bool:
    """Create ``stack`` (less what it omits) in the account ``clients`` talk to; True when
    its deployments were recorded now (real applies: nothing was recorded for it yet)."""
    from pytest_ohpen.emulator.provider.replay import renamed, replay_state
    from pytest_ohpen.emulator.terraform_setup import stack_dir

    history, recorded_now = deployment_history(clients, stack)
    create_backend(clients, stack.state_bucket, stack.lock_table)
    assigned = replay_state(
        history.newest(), clients, skip=set(stack.omitted), base_dir=stack_dir()
    )
    if stack.state_bucket:
        s3 = clients.client("s3")
        for body in history.states:  # oldest first: the newest ends up current
            s3.put_object(
                Bucket=stack.state_bucket,
                Key=stack.state_key,
                Body=renamed(body, assigned),
                ContentType="application/json",
            )
    for layer in clients.env.data.values():
        if layer.bucket in stack.buckets:
            _data_runs(clients.client("s3"), layer.bucket, layer.prefix)
    seed_history(clients.env.account_id, clients.env.region, stack.glue_jobs)
    return recorded_now


def deployment_history(clients: AwsClients, stack: Stack) -> tuple[History, bool]:
    """The stack's recorded deployments: from the cache, else deployed for real now
    (Terraform, the embedded provider) into this account, kept, and the account emptied so
    that it is built from the record like every other; and whether it was recorded now."""
    from pytest_ohpen.terraform.binary import find_terraform, python_folder

    env = clients.env
    pinned = env.terraform.version if env.terraform else None
    binary = find_terraform(pinned=pinned, beside=python_folder())
    key = history_key(env, binary)
    recorded = load(key)
    if recorded is not None:
        return recorded, False
    recorded = record(clients, stack, binary)
    save(key, recorded)
    assert clients.endpoint_url is not None
    reset_account(clients.endpoint_url)
    return recorded, True


DATA_RUNS = ("run-20261124", "run-20261125", "run-20261126")
"""Three completed ETL runs of a layer, the newest promoted (``ohpen data`` has something
to show and roll back on the embedded account)."""


def _data_runs(s3: Any, bucket: str, prefix: str) -> None:
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    for day, run_id in enumerate(DATA_RUNS, start=24):
        rows = f"transaction_id,amount\n{run_id}-1,10.00\n{run_id}-2,20.00\n"
        s3.put_object(Bucket=bucket, Key=f"{prefix}{run_id}/part-00000.csv", Body=rows.encode())
        success = {
            "run_id": run_id,
            "completed_at": f"2026-11-{day}T06:00:00Z",
            "rows": 2,
            "quarantined": 0,
            "quarantine_rate": 0.0,
            "source": "embedded account",
        }
        s3.put_object(
            Bucket=bucket, Key=f"{prefix}{run_id}/_SUCCESS", Body=json.dumps(success).encode()
        )
    promoted = DATA_RUNS[-1]
    s3.copy_object(
        Bucket=bucket,
        Key=f"{prefix}current/part-00000.csv",
        CopySource={"Bucket": bucket, "Key": f"{prefix}{promoted}/part-00000.csv"},
    )
    pointer = {
        "schema_version": 1,
        "layer": "silver",
        "run_id": promoted,
        "location": f"s3://{bucket}/{prefix}{promoted}/",
        "current_prefix": f"s3://{bucket}/{prefix}current/",
        "promoted_at": "2026-11-26T07:00:00Z",
        "promoted_by": "embedded account",
        "previous_run_id": DATA_RUNS[-2],
        "rows": 2,
        "reason": "daily promotion",
    }
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}_LATEST.json",
        Body=json.dumps(pointer).encode(),
        ContentType="application/json",
    )
