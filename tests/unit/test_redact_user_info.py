"""redact_text removes a URL's user info (``scheme://user:password@host``) wherever a URL
appears, and has_user_info tells the loader which URLs carry one."""

from __future__ import annotations

import pytest

from pytest_ohpen.records.redact import REDACTED, has_user_info, redact_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "endpoint http://user:pw@127.0.0.1:4566 down",
            f"endpoint http://{REDACTED}@127.0.0.1:4566 down",
        ),
        (
            "https://ghp_abc123@github.com/org/repo.git",
            f"https://{REDACTED}@github.com/org/repo.git",
        ),
        ('{"url": "https://a%40b:p%3Aw@h/x?q=1"}', f'{{"url": "https://{REDACTED}@h/x?q=1"}}'),
        ("git+ssh://deploy:s3cr3t@host:22/r", f"git+ssh://{REDACTED}@host:22/r"),
    ],
)
def test_url_user_info_is_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact_text(expected) == expected, "idempotent"


@pytest.mark.parametrize(
    "text",
    [
        "http://127.0.0.1:4566/path@not-user-info",
        "https://example.com/?mail=ops@example.com",
        "git@github.com:org/repo.git",
        "s3://ohpen-bronze/raw/2026/file@v1.csv",
        "mail ops@example.com",
    ],
)
def test_urls_without_user_info_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_has_user_info() -> None:
    assert has_user_info("http://user:pw@127.0.0.1:4566")
    assert has_user_info("https://token@host")
    assert not has_user_info("http://127.0.0.1:4566")
    assert not has_user_info("http://127.0.0.1:4566/a@b")
