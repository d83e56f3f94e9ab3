"""tests/unit is offline: a unit test that starts a process or opens a connection fails.

The guard is tests/conftest.py's ``offline``; these tests fail if it is not applied here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from conftest import OfflineViolation


def test_starting_a_process_fails_loudly() -> None:
    with pytest.raises(OfflineViolation, match="may not start a process"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    with pytest.raises(OfflineViolation, match=r"os\.system"):
        os.system("true")


def test_opening_a_connection_fails_loudly() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with pytest.raises(OfflineViolation, match="may not open a connection"):
            socket.create_connection(("127.0.0.1", port), timeout=1)


def test_an_http_request_is_not_turned_into_an_ordinary_error() -> None:
    """urllib (like botocore) catches OSError; the violation is not one, so it gets through."""
    with pytest.raises(OfflineViolation):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)
