"""The playbook's incident entry (Step 8), as a JSON record and as Markdown.

The JSON record in the audit store is the source; Markdown is rendered from it, so
the two never disagree. Root cause and prevention are left for people to fill in.
"""

from __future__ import annotations

from typing import Any

TO_FILL = "_to be filled in by the incident owner_"
KIND = "incident"


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
) -> dict[str, Any]:
    """The incident's fields, in the playbook's order, plus what the tool measured."""
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
        "root_cause": None,
        "prevention": None,
        "details": details or {},
        "initiated_by": initiated_by,
        "detected_at": detected_at,
    }


def incident_markdown(record_id: str, environment: str, data: dict[str, Any]) -> str:
    """The playbook's "## Rollback: [Date]" entry for one incident record."""
    restored = data.get("rolled_back_to") or {}
    restored_text = (
        " / ".join(
            part
            for part in (
                f"git {restored['git_commit']}" if restored.get("git_commit") else "",
                f"state version {restored['state_version']}"
                if restored.get("state_version")
                else "",
            )
            if part
        )
        or "unknown"
    )
    operator = data.get("operator") or {}
    who = operator.get("GITHUB_ACTOR") or operator.get("USER") or operator.get("aws_caller", "?")
    lines = [
        f"## Rollback: {str(data.get('started_at', ''))[:10]} ({environment}, {record_id})",
        "",
        f"**Reason**: {data.get('reason') or TO_FILL}",
        f"**Deployment SHA**: {data.get('deployment_sha') or 'unknown'}",
        f"**Rolled back to**: {restored_text}",
        f"**Rollback performed by**: {who} ({operator.get('aws_caller', 'unknown identity')})",
        f"**Rollback timestamp**: {data.get('started_at')} → {data.get('finished_at')}",
        f"**Mode and outcome**: {data.get('mode')}, {data.get('outcome')}",
        f"**Verification**: {data.get('verification')}",
        f"**Root cause**: {data.get('root_cause') or TO_FILL}",
        f"**Prevention**: {data.get('prevention') or TO_FILL}",
    ]
    return "\n".join(lines) + "\n"
