"""``python -m pytest_ohpen.cli``: the ``ohpen`` command without relying on PATH."""

from pytest_ohpen.cli import main

raise SystemExit(main())
