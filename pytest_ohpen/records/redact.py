"""Credential redaction for everything the plugin writes: reports, logs, records, attachments.

A rollback-readiness report is read by people and stored for years, so nothing that can
sign a request may reach it. Two nets, both applied to every string:

- the exact values of the process's secret-looking environment variables (the AWS keys and
  session token in use, CI tokens), in plain, URL-encoded and JSON-escaped form;
- patterns of credentials whatever their source: access key ids, ``secret=...``-style
  assignments (Python's ``b'...'`` byte strings too, as botocore logs headers), presigned-URL
  and Authorization-header signatures, bearer tokens, PEM private keys and the user info of
  a URL (``https://user:password@host``).

The patterns are deliberately narrow enough to leave ARNs, account ids, git SHAs, S3 version
ids and prose that merely mentions a token alone: a report nobody can read is no report.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"
"""What a credential is replaced by."""
MIN_SECRET_LENGTH = 8
"""Environment values shorter than this are not treated as secrets (``true``, ``1``, ``eu``)."""

SENSITIVE_NAME = re.compile(
    r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE[_-]?KEY|API[_-]?KEY|ACCESS[_-]?KEY",
    re.IGNORECASE,
)
"""Names (environment variables, dict keys) whose value is a credential."""
_PATH_NAME = re.compile(r"_(?:FILE|PATH|DIR)$", re.IGNORECASE)
"""Names such as AWS_SHARED_CREDENTIALS_FILE: their value is where a secret is, not one."""

_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_AUTHORIZATION = re.compile(
    r"""(\bAuthorization["']?[ \t]*[:=][ \t]*(?:b?["'])?)([^"'\r\n]+)""", re.IGNORECASE
)
_BEARER = re.compile(r"\b(Bearer[ \t]+)[A-Za-z0-9\-._~+/]{16,}=*", re.IGNORECASE)
_AMZ_QUERY = re.compile(
    r"\b(X-Amz-(?:Signature|Security-Token|Credential)=)[^&\s\"'<>]+", re.IGNORECASE
)
_URL_USER_INFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@\"'<>]+@")
"""``scheme://user:password@``: whatever precedes the host's ``@`` may sign in somewhere."""
_ACCESS_KEY_ID = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16,}(?![a-z])")
_ASSIGNMENT = re.compile(
    r"""
    (?<![\w.-])
    (?P<key>[\w.-]*?
        (?:aws_secret_access_key|aws_session_token|secret(?:[_-]?access[_-]?key)?
          |password|passwd|token))
    (?P<sep>["']?[ \t]*[:=][ \t]*)
    (?!\[REDACTED\])
    (?:
        (?P<prefix>b?)(?P<quote>["'])(?P<quoted>(?:\\.|(?!(?P=quote))[^\\\r\n])*)(?P=quote)
      | (?!(?:null|none|true|false)\b)(?P<bare>[^\s"',;&<>\]\)}]+)
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)


def has_user_info(url: str) -> bool:
    """Whether ``url`` carries a user name or password before its host (``user:pw@host``)."""
    return _URL_USER_INFO.match(url) is not None


def secrets_from_environ(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The values of ``environ``'s credential-named variables (``os.environ`` by default).

    A name matches SENSITIVE_NAME (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
    GITHUB_TOKEN, ...); values shorter than MIN_SECRET_LENGTH and names of files, paths and
    directories (AWS_SHARED_CREDENTIALS_FILE) are left out, since redacting them would only
    mangle ordinary text.
    """
    source = os.environ if environ is None else environ
    return frozenset(
        value
        for name, value in source.items()
        if SENSITIVE_NAME.search(name)
        and not _PATH_NAME.search(name)
        and len(value) >= MIN_SECRET_LENGTH
    )


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every credential replaced by ``[REDACTED]``.

    ``secrets`` are exact values to remove in addition to those of secrets_from_environ();
    the names in ``key=value`` pairs and headers are kept, so a reader sees what was there.
    """
    return _redact_text(text, _known_secrets(secrets))


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` with redact_text() applied to every string inside, recursively.

    Dicts, lists, tuples, sets and bytes keep their type (any Mapping becomes a dict);
    a dict value under a credential-named key (SENSITIVE_NAME) becomes ``[REDACTED]`` as
    a whole, unless it is None or an empty string, which reveal nothing. Other values are returned
    as they are.
    """
    return _redact_value(value, _known_secrets(secrets))


def _known_secrets(secrets: Iterable[str]) -> tuple[str, ...]:
    """The exact strings to remove, each in plain, URL-encoded and JSON-escaped form,
    longest first so a secret that contains another is removed whole."""
    forms: set[str] = set()
    for secret in secrets_from_environ() | set(secrets):
        if not secret:
            continue
        forms.add(secret)
        forms.add(urllib.parse.quote(secret, safe=""))
        forms.add(urllib.parse.quote_plus(secret, safe=""))
        forms.add(json.dumps(secret)[1:-1])
    return tuple(sorted(forms, key=lambda form: (-len(form), form)))


def _redact_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _PEM_PRIVATE_KEY.sub(REDACTED, text)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AMZ_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    text = _URL_USER_INFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _ASSIGNMENT.sub(_redact_assignment, text)
    return _ACCESS_KEY_ID.sub(REDACTED, text)


def _redact_assignment(match: re.Match[str]) -> str:
    """``key: value`` with the value redacted; an ARN's ``:secret:name`` is not an assignment."""
    start = match.start()
    if match.string[start - 1 : start] == ":" and match.group("sep").strip() == ":":
        return match.group(0)
    if match.group("quote"):
        quote = match.group("quote")
        prefix = match.group("prefix")
        return f"{match.group('key')}{match.group('sep')}{prefix}{quote}{REDACTED}{quote}"
    return f"{match.group('key')}{match.group('sep')}{REDACTED}"


def _redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _redact_text(value, secrets)
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="surrogateescape")
        return _redact_text(text, secrets).encode("utf-8", errors="surrogateescape")
    if isinstance(value, Mapping):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            sensitive = isinstance(key, str) and SENSITIVE_NAME.search(key)
            if sensitive and item is not None and item != "":
                item = REDACTED
            else:
                item = _redact_value(item, secrets)
            result[_redact_value(key, secrets)] = item
        return result
    if isinstance(value, list):
        return [_redact_value(item, secrets) for item in value]
    if isinstance(value, tuple):
        return tuple(_redact_value(item, secrets) for item in value)
    if isinstance(value, frozenset):
        return frozenset(_redact_value(item, secrets) for item in value)
    if isinstance(value, set):
        return {_redact_value(item, secrets) for item in value}
    return value
