"""What an embedded-account fault is: a name's description, the kind of resource it breaks,
and how. Its own module so that each area's catalogue (faults_glue, faults_iam, faults_ops)
and the whole catalogue (faults) can import it without importing each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.emulator.stack import Stack


@dataclass(frozen=True)
class Fault:
    """A named fault: what it breaks, of which kind, and how."""

    description: str
    kind: str
    inject: Callable[[AwsClients, Stack, str], None]
