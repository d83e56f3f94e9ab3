"""Glue: a job exists."""

from __future__ import annotations

from typing import Any

from pytest_ohpen.checks.base import Where, probing

NOT_FOUND = frozenset({"EntityNotFoundException"})


def check_glue_job_exists(glue: Any, job: str, where: Where) -> None:
    """GetJob: the job is defined in this account and region."""
    with probing("Glue job", job, where, NOT_FOUND):
        glue.get_job(JobName=job)
