"""Which AWS clients a check uses, declared beside it (``@uses("s3")``).

The prefetch (``plugin.prefetch``) makes a run's clients before its threads start, since
botocore reads os.environ as it makes one and pytest changes os.environ for every test.
Making only the clients of the checks selected (a ``-k`` run of bucket checks needs one
client, not eight) saves 15-40 ms per client; a check that declares nothing gets all
of them. The green run of ``tests/e2e/test_playbook_faults.py`` fails when a check
makes a client on a pool thread, that is, when a declaration is missing a service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

ALL_SERVICES = ("s3", "glue", "stepfunctions", "lambda", "iam", "cloudwatch", "sns", "sqs")
"""Every client the plugin's checks use: what a check without a declaration gets."""
INVOKER = "lambda:invoke"
"""The single-attempt Lambda client that invokes functions (``AwsClients.invoker``)."""
_ATTRIBUTE = "ohpen_services"

Check = TypeVar("Check", bound=Callable[..., object])


def uses(*services: str) -> Callable[[Check], Check]:
    """Declare the clients ``check`` asks ``AwsClients`` for (service names, or INVOKER)."""
    unknown = set(services) - {*ALL_SERVICES, INVOKER}
    if unknown:
        raise ValueError(f"unknown services {sorted(unknown)}: add them to ALL_SERVICES")

    def declare(check: Check) -> Check:
        setattr(check, _ATTRIBUTE, tuple(services))
        return check

    return declare


def services_of(checks: Iterable[Callable[..., object]]) -> list[str]:
    """The clients ``checks`` use together, in ALL_SERVICES order (INVOKER last)."""
    wanted: set[str] = set()
    for check in checks:
        wanted.update(getattr(check, _ATTRIBUTE, ALL_SERVICES))
    return [s for s in (*ALL_SERVICES, INVOKER) if s in wanted]
