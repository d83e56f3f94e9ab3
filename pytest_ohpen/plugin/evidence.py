"""What a run's checks proved: the known-good mark's evidence, and "nothing was checked".

A known-good mark is what later rollbacks go back to, so a pass counts only when every
collected check ran and passed, or was skipped by the operator's choice
(:func:`~pytest_ohpen.plugin.outcomes.skip_by_choice`). A skip for a missing setting or for
an empty resource list is a check that was not made: no mark. A run in which every check
was skipped checked nothing at all: it ends with exit code 5 (pytest's "no tests ran").
Pure: the outcomes and what collection left out in, :class:`Evidence` and lines out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from pytest_ohpen.plugin.fixtures import RESOURCE_FIXTURES
from pytest_ohpen.plugin.outcomes import CheckOutcome, is_by_choice
from pytest_ohpen.records.known_good import Evidence

NOTHING_CHECKED_EXIT = 5
"""pytest's NO_TESTS_COLLECTED: the run proves nothing, like a run that collected nothing."""
EMPTY_PARAMETERS = re.compile(r"got empty parameter set\W+(?:for\W+)?(?P<names>[\w ,'\"]+)")
"""pytest's skip reason for a check parametrized over an empty resource list."""
MAX_REASONS = 3


def suite_of(nodeid: str) -> str:
    """The suite a check belongs to: the folder after ``suites/`` (``suites/smoke/...`` is
    "smoke"), else the check's folder, else its module (a file in the rootdir)."""
    parts = nodeid.split("::", 1)[0].split("/")
    folders, module = parts[:-1], parts[-1]
    if "suites" in folders[:-1]:
        return folders[folders.index("suites") + 1]
    return "/".join(folders) or module.removesuffix(".py")


def evidence_of(
    results: Sequence[CheckOutcome], environment: str, *, left_out: str | None = None
) -> Evidence:
    """The evidence of ``results`` (every check's final outcome); ``left_out`` says what of
    the collected checks did not run (deselected, stopped early), None when nothing."""
    passed = [o for o in results if o.status == "passed"]
    chosen = [o for o in results if o.status == "skipped" and is_by_choice(o.message)]
    unmade = [o for o in results if o.status == "skipped" and not is_by_choice(o.message)]
    other = [o for o in results if o.status not in ("passed", "skipped")]
    gaps: list[str] = []
    if left_out:
        gaps.append(left_out)
    if other:
        gaps.append(f"{len(other)} check(s) did not pass")
    if unmade:
        gaps.append(
            f"{len(unmade)} check(s) skipped, not by choice: {skip_reasons(unmade, environment)}"
        )
    if not passed:
        gaps.append("nothing was checked")
    return Evidence(
        suite="+".join(sorted({suite_of(o.nodeid) for o in results})) or "none",
        passed=len(passed),
        by_kind=dict(sorted(Counter(o.kind or "other" for o in passed).items())),
        skipped_by_choice=len(chosen),
        gaps=tuple(gaps),
    )


def nothing_checked(results: Sequence[CheckOutcome], environment: str) -> str | None:
    """The one line for a run whose every check was skipped, or None when something ran."""
    if not results or any(o.status != "skipped" for o in results):
        return None
    return (
        f"nothing was checked in environment {environment!r}: every check was skipped "
        f"({len(results)} skipped: {skip_reasons(results, environment)}); exit code "
        f"{NOTHING_CHECKED_EXIT}, and no known-good mark"
    )


def skip_reasons(skipped: Sequence[CheckOutcome], environment: str) -> str:
    """The distinct reasons, most frequent first, at most a few; an empty resource list
    named as the ``[<env>.resources]`` keys that list nothing."""
    empty: list[str] = []
    reasons: Counter[str] = Counter()
    for outcome in skipped:
        reason = outcome.message or "skipped"
        match = EMPTY_PARAMETERS.search(reason)
        if match is None:
            reasons[reason] += 1
            continue
        for fixture, kind in RESOURCE_FIXTURES.items():
            if fixture in match["names"] and kind not in empty:
                empty.append(kind)
    texts = [f"[{environment}.resources] lists no {', '.join(empty)}"] if empty else []
    texts += [reason for reason, _ in reasons.most_common()]
    more = len(texts) - MAX_REASONS
    return "; ".join(texts[:MAX_REASONS]) + (f"; and {more} more" if more > 0 else "")
