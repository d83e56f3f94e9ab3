"""The playbook's incident entry (Step 8), as a JSON record and as Markdown.

The JSON record in the audit store is the source; Markdown is rendered from it, so
the two never disagree. Records are write-once, so root cause and prevention are added
later by annotation records of their own kind that name the incident; rendering merges
them (the newest value of each field wins) and the incident record is never rewritten.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pytest_ohpen.errors import ConfigError
from pytest_ohpen.records.identity import readable_operator
from pytest_ohpen.util.jsonable import iso_utc

if TYPE_CHECKING:
    from pytest_ohpen.records.store import AuditRecord

TO_FILL = "_to be filled in by the incident owner_"
KIND = "incident"
ANNOTATION_KIND = "incident_annotation"
ANNOTATED_FIELDS = ("root_cause", "prevention")
"""The fields an annotation may fill, in the entry's order."""
SUITES = (("smoke", "smoke"), ("post_rollback", "post-rollback"), ("pipeline", "pipeline"))
"""The verification suites the playbook asks about: key in ``verification_suites``, label."""
INCIDENT_KEY_PREFIX = "detected-"
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future ``--detected-at`` may be (another machine's clock)."""


def incident_key(detected_at: str | None) -> str | None:
    """The key that ties every attempt at one failure together: ``detected-<UTC second>``
    of the failure's detection (the trigger passes the same time to the command it runs,
    and an operator retrying passes it with ``--detected-at``); None when unknown. The
    metrics derive the same key from ``detected_at`` for records written before it."""
    if not detected_at:
        return None
    try:
        moment = datetime.fromisoformat(detected_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return f"{INCIDENT_KEY_PREFIX}{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def detected_at_option(text: str) -> str:
    """``--detected-at WHEN``: when the failure was detected (the failed check's time), an
    ISO 8601 time with a zone (``Z`` or ``+02:00``), not in the future; as ISO UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected an ISO 8601 time with a zone, e.g. 2024-07-01T09:30:00Z"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the zone (Z or +HH:MM): a time without one is ambiguous"
        )
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise argparse.ArgumentTypeError(f"{text!r}: the detection cannot be in the future")
    return iso_utc(moment)


def detected_at_of(given: str | None, told: str | None) -> str | None:
    """The detection time a rollback command records: ``--detected-at`` (already checked),
    else what the trigger or a CD workflow told it (``OHPEN_DETECTED_AT``), else None.
    ConfigError (one line, exit 2) when the told value is no usable time."""
    if given:
        return given
    if not told:
        return None
    try:
        return detected_at_option(told)
    except argparse.ArgumentTypeError as error:
        raise ConfigError(f"OHPEN_DETECTED_AT {error}") from None


def attempt_context(given_detected_at: str | None) -> dict[str, Any]:
    """What ``state restore`` and ``data rollback`` add to their records so the metrics can
    count them as rollback attempts: who started them (the trigger, the drill or an
    operator, from the ``OHPEN_*`` hand-off), the detection time and the incident key.
    ConfigError (exit 2, before any change) when ``OHPEN_DETECTED_AT`` is no usable time."""
    from pytest_ohpen.rollback.handoff import from_env

    told = from_env()
    detected = detected_at_of(given_detected_at, told.detected_at)
    return {
        "initiated_by": told.initiator,
        "detected_at": detected,
        "incident_key": incident_key(detected),
    }


DETECTED_AT_HELP = (
    "when the failure was detected (the failed check's time, ISO 8601 with a zone): the "
    "metrics measure the rollback from it, and attempts with the same time are one "
    "incident (env: OHPEN_DETECTED_AT, which the trigger sets)"
)


def incident_data(
    *,
    reason: str,
    deployment_sha: str | None,
    restored_sha: str | None,
    restored_state_version: str | None,
    operator: dict[str, str],
    started_at: str,
    finished_at: str,
    mode: str,
    outcome: str,
    verification: str,
    details: dict[str, Any] | None = None,
    initiated_by: str = "operator",
    detected_at: str | None = None,
    verification_suites: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The incident's fields, in the playbook's order, plus what the tool measured.
    ``verification`` is the smoke run's result (``--verify``); ``verification_suites``
    holds other suites' results by key (``post_rollback``, ``pipeline``) when they ran;
    ``incident_key`` (from ``detected_at``) ties the attempts at one failure together."""
    return {
        "reason": reason,
        "deployment_sha": deployment_sha,
        "rolled_back_to": {"git_commit": restored_sha, "state_version": restored_state_version},
        "operator": operator,
        "started_at": started_at,
        "finished_at": finished_at,
        "mode": mode,
        "outcome": outcome,
        "verification": verification,
        "verification_suites": dict(verification_suites or {}),
        "root_cause": None,
        "prevention": None,
        "details": details or {},
        "initiated_by": initiated_by,
        "detected_at": detected_at,
        "incident_key": incident_key(detected_at),
    }


@dataclass(frozen=True)
class Annotation:
    """One annotation of an incident: who added what, when (from its audit record)."""

    record_id: str
    recorded_at: str
    author: str
    fields: Mapping[str, str]


def annotation_data(
    incident_id: str, operator: Mapping[str, str], fields: Mapping[str, str]
) -> dict[str, Any]:
    """An annotation record's data: the incident it completes, who wrote it, the fields."""
    unknown = set(fields) - set(ANNOTATED_FIELDS)
    if unknown:
        raise ValueError(f"not an annotated field: {', '.join(sorted(unknown))}")
    return {"incident_id": incident_id, "operator": dict(operator), **dict(fields)}


def annotations_of(incident_id: str, records: Iterable[AuditRecord]) -> list[Annotation]:
    """The incident's annotations, oldest first (so later ones override earlier ones)."""
    found = [
        Annotation(
            record_id=record.id,
            recorded_at=iso_utc(record.recorded_at),
            author=readable_operator(_mapping(record.data.get("operator"))),
            fields={
                name: value
                for name in ANNOTATED_FIELDS
                if isinstance(value := record.data.get(name), str) and value.strip()
            },
        )
        for record in records
        if record.kind == ANNOTATION_KIND and record.data.get("incident_id") == incident_id
    ]
    return sorted(found, key=lambda note: (note.recorded_at, note.record_id))


def completed(data: Mapping[str, Any], annotations: Sequence[Annotation]) -> dict[str, Any]:
    """The incident's fields with its annotations merged in; the newest value wins."""
    merged = dict(data)
    for note in annotations:
        merged.update(note.fields)
    return merged


def missing_fields(data: Mapping[str, Any], annotations: Sequence[Annotation] = ()) -> list[str]:
    """The annotated fields still empty (labels), e.g. ``["root cause"]``; [] when complete."""
    merged = completed(data, annotations)
    return [name.replace("_", " ") for name in ANNOTATED_FIELDS if not merged.get(name)]


def incident_markdown(
    record_id: str,
    environment: str,
    data: dict[str, Any],
    annotations: Sequence[Annotation] = (),
) -> str:
    """The playbook's "## Rollback: [Date]" entry for one incident record and its notes."""
    merged = completed(data, annotations)
    operator = _mapping(merged.get("operator"))
    lines = [
        f"## Rollback: {str(merged.get('started_at', ''))[:10]} ({environment}, {record_id})",
        "",
        f"**Reason**: {merged.get('reason') or TO_FILL}",
        f"**Deployment SHA**: {merged.get('deployment_sha') or 'unknown'}",
        f"**Rolled back to**: {_restored_text(_mapping(merged.get('rolled_back_to')))}",
        f"**Rollback performed by**: {_performer(operator)}",
        f"**Approved by**: {_text(operator.get('approved_by')) or 'not recorded'}",
        f"**Rollback timestamp**: {merged.get('started_at')} → {merged.get('finished_at')}",
        f"**Mode and outcome**: {merged.get('mode')}, {merged.get('outcome')}",
        "**Verification**:",
        *(f"- {label}: {result}" for label, result in verification_results(merged)),
        f"**Root cause**: {merged.get('root_cause') or TO_FILL}",
        f"**Prevention**: {merged.get('prevention') or TO_FILL}",
    ]
    if annotations:
        lines += ["", "**Annotations**:"]
        lines += [
            f"- {note.recorded_at} by {note.author} ({note.record_id}): "
            + ", ".join(name.replace("_", " ") for name in note.fields)
            for note in annotations
        ]
    return "\n".join(lines) + "\n"


def verification_results(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every suite the playbook asks about with its recorded result, "not run" when the
    record holds none; suites recorded under other keys follow, so none is hidden."""
    recorded = {
        key: value
        for key, value in _mapping(data.get("verification_suites")).items()
        if isinstance(value, str) and value
    }
    recorded.setdefault("smoke", _text(data.get("verification")) or "not run")
    results = [(label, recorded.pop(key, "not run")) for key, label in SUITES]
    return results + sorted(recorded.items())


def _performer(operator: Mapping[str, Any]) -> str:
    """The readable name, then the AWS caller's ARN once (when there is one)."""
    name = readable_operator(operator)
    arn = _text(operator.get("aws_caller"))
    if not arn or arn in ("unknown", name):
        return name
    return f"{name} (AWS caller {arn})"


def _restored_text(restored: Mapping[str, Any]) -> str:
    parts = [
        f"git {restored['git_commit']}" if restored.get("git_commit") else "",
        f"state version {restored['state_version']}" if restored.get("state_version") else "",
    ]
    return " / ".join(part for part in parts if part) or "unknown"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
