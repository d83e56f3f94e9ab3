"""Credential redaction for log records, before any handler formats or stores them.

botocore logs at DEBUG every signed request's headers (``Authorization: AWS4-HMAC-SHA256
Credential=AKIA...``, ``X-Amz-Security-Token``), and CD jobs turn DEBUG on exactly when a
deployment check is red. Whatever a handler does with a record (the terminal, a log file,
pytest's captured-log section, an Allure attachment), it gets the message, the traceback
and the stack already passed through :func:`~pytest_ohpen.records.redact.redact_text`.

A filter sits on handlers, not on loggers: a logger's filter never sees the records its
children propagate, and botocore logs on dozens of child loggers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pytest_ohpen.records.redact import redact_text

_DONE = "_ohpen_redacted"
"""Set on a record once redacted, so the next handler's filter does not do it again."""


class RedactingFilter(logging.Filter):
    """Rewrites each record through redact_text and lets it pass (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    """``record`` with its message (arguments merged in), traceback and stack redacted.

    The record is changed in place, as every handler after this one shares it. Its
    arguments are dropped only when the merged message had something to redact: a
    redacted message cannot be re-merged with them.
    """
    if getattr(record, _DONE, False):
        return
    message = record.getMessage()
    redacted = redact_text(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    setattr(record, _DONE, True)


class LogRedaction:
    """One filter, put on a set of handlers and taken off them again."""

    def __init__(self) -> None:
        self.filter = RedactingFilter()
        self.handlers: list[logging.Handler] = []

    def install(self, handlers: Iterable[logging.Handler]) -> None:
        """Add the filter to each handler that does not have it yet."""
        for handler in handlers:
            if self.filter not in handler.filters:
                handler.addFilter(self.filter)
                self.handlers.append(handler)

    def uninstall(self) -> None:
        """Remove the filter from every handler it was added to."""
        for handler in self.handlers:
            handler.removeFilter(self.filter)
        self.handlers.clear()


def process_handlers() -> list[logging.Handler]:
    """The handlers every record of the process can reach: the root logger's, and the
    last-resort stderr handler logging uses when there is none."""
    handlers = list(logging.getLogger().handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    return handlers
