"""Redaction removes every credential a report could carry and leaves ordinary text alone.

Both matter: a leaked key must be rotated, and a report whose ARNs, SHAs and version ids
were mangled cannot be used to decide on or carry out a rollback.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.records.redact import REDACTED, redact, redact_text, secrets_from_environ

FAKE_KEY_ID = "AKIAFAKEOHPENTEST0001"
FAKE_SECRET = "fake-secret-ohpen-test-do-not-leak"


def test_secrets_from_environ_picks_credential_named_variables() -> None:
    environ = {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEBYaDH",
        "github_token": "ghp_0123456789abcdef",
        "DB_PASSWD": "correct-horse",
        "MY_API_KEY": "k-0123456789",
        "SSH_PRIVATE_KEY": "-----BEGIN",
        "SOME_CREDENTIALS": "user:pass-word",
        "SHORT_TOKEN": "1234567",
        "AWS_SHARED_CREDENTIALS_FILE": "/home/me/.aws/credentials",
        "AWS_REGION": "eu-west-1",
        "HOME": "/home/me/somewhere",
    }
    assert secrets_from_environ(environ) == {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "FwoGZXIvYXdzEBYaDH",
        "ghp_0123456789abcdef",
        "correct-horse",
        "k-0123456789",
        "-----BEGIN",
        "user:pass-word",
    }


def test_secrets_from_environ_defaults_to_the_process_environment() -> None:
    # The autouse fixture put fake AWS keys into os.environ.
    assert {FAKE_KEY_ID, FAKE_SECRET} <= secrets_from_environ()


def test_environment_secrets_are_redacted_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "opaque/session+token==value")
    text = (
        f"keys {FAKE_KEY_ID} {FAKE_SECRET}, token opaque/session+token==value, "
        "url-encoded opaque%2Fsession%2Btoken%3D%3Dvalue"
    )
    assert redact_text(text) == (
        f"keys {REDACTED} {REDACTED}, token {REDACTED}, url-encoded {REDACTED}"
    )


def test_explicit_secrets_are_redacted_too() -> None:
    assert redact_text("db is hunter2-prod, key AKIAFAKEOHPENTEST0001", ["hunter2-prod"]) == (
        f"db is {REDACTED}, key {REDACTED}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key AKIAIOSFODNN7EXAMPLE used", f"key {REDACTED} used"),
        ("role ASIAY34FZKBOKMUTVV7A", f"role {REDACTED}"),
        ("password=hunter2 then", f"password={REDACTED} then"),
        ("Password: hunter2", f"Password: {REDACTED}"),
        ('{"password": "hun ter2", "n": 1}', f'{{"password": "{REDACTED}", "n": 1}}'),
        ("{'token': 'abc123'}", f"{{'token': '{REDACTED}'}}"),
        ("secret=s3cr3t&next=1", f"secret={REDACTED}&next=1"),
        ("client_secret = abc.def", f"client_secret = {REDACTED}"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = eu-west-1",
            f"aws_secret_access_key = {REDACTED}\nregion = eu-west-1",
        ),
        ("AWS_SESSION_TOKEN=FwoGZXIvYXdz", f"AWS_SESSION_TOKEN={REDACTED}"),
        (
            "{'AccessKeyId': 'ASIAY34FZKBOKMUTVV7A', 'SecretAccessKey': 'abc/def', "
            "'SessionToken': 'Fwo'}",
            f"{{'AccessKeyId': '{REDACTED}', 'SecretAccessKey': '{REDACTED}', "
            f"'SessionToken': '{REDACTED}'}}",
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261126%2Feu-west-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20261126T103712Z&X-Amz-Security-Token=IQoJb3JpZ2lu%2Fabc"
            "&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef",
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential={REDACTED}&X-Amz-Date=20261126T103712Z"
            f"&X-Amz-Security-Token={REDACTED}&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={REDACTED}",
        ),
        (
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/"
            "eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca\n"
            "Host: example.com",
            f"Authorization: {REDACTED}\nHost: example.com",
        ),
        (
            "{'Authorization': b'AWS4-HMAC-SHA256 Signature=ab12', 'X-Amz-Date': b'2026'}",
            f"{{'Authorization': b'{REDACTED}', 'X-Amz-Date': b'2026'}}",
        ),
        (
            "call with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            f"call with Bearer {REDACTED}",
        ),
        (
            "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc=\n"
            "-----END RSA PRIVATE KEY-----\nafter",
            f"key:\n{REDACTED}\nafter",
        ),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQ truncated", REDACTED),
    ],
)
def test_credentials_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:iam::123456789012:role/ohpen-deployer",
        "arn:aws:iam::123456789012:role/token-rotator",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf",
        "arn:aws:states:eu-west-1:123456789012:stateMachine:ohpen-etl-orchestration",
        "account 123456789012 in eu-west-1",
        "deployed commit 0cb4182d3f7e1a2b3c4d5e6f708192a3b4c5d6e7 (0cb4182)",
        "version 3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
        "version id Zu1XL6PXtTLnLDs1oEXZuIA1mpTPEKyi",
        "the session token expired, so the token was refreshed",
        "tokens: 5, token_count=5, password_policy=strict, SecretArn=arn:aws:x",
        "the bearer of bad news",
        "recorded_at 2026-11-26T10:37:12Z, id 20261126T103712Z-known_good-0a1b2c3d",
        "token: null, password=true",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "password=hunter2",
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
        "X-Amz-Signature=abc&token='x'",
        f"{FAKE_SECRET} AKIAIOSFODNN7EXAMPLE",
    ],
)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


def test_redact_walks_containers_and_keeps_their_types() -> None:
    value = {
        "summary": f"used {FAKE_KEY_ID}",
        "nested": [{"url": "https://x?X-Amz-Signature=abc"}, (FAKE_SECRET, 3)],
        "tags": frozenset({"password=abc"}),
        "raw": f"secret={FAKE_SECRET}".encode(),
        "count": 7,
        "ok": True,
        "nothing": None,
    }
    assert redact(value) == {
        "summary": f"used {REDACTED}",
        "nested": [{"url": f"https://x?X-Amz-Signature={REDACTED}"}, (REDACTED, 3)],
        "tags": frozenset({f"password={REDACTED}"}),
        "raw": f"secret={REDACTED}".encode(),
        "count": 7,
        "ok": True,
        "nothing": None,
    }


def test_values_under_credential_named_keys_are_replaced_whole() -> None:
    value = {
        "Credentials": {"AccessKeyId": "ASIA", "Expiration": "2026-11-26"},
        "session_token": "short",
        "apiKey": 12345,
        "db_password": ["a", "b"],
        "github_token": None,
        "client_secret": "",
        "tokens_used_by_check": 3,
        "role_arn": "arn:aws:iam::123456789012:role/x",
    }
    assert redact(value) == {
        "Credentials": REDACTED,
        "session_token": REDACTED,
        "apiKey": REDACTED,
        "db_password": REDACTED,
        "github_token": None,
        "client_secret": "",
        "tokens_used_by_check": REDACTED,
        "role_arn": "arn:aws:iam::123456789012:role/x",
    }


def test_redact_does_not_modify_its_argument() -> None:
    value = {"token": "abc", "list": [FAKE_SECRET]}
    redact(value)
    assert value == {"token": "abc", "list": [FAKE_SECRET]}
