"""moto's lookups that cannot change while a process runs, made once instead of per call.

moto 5.2.5 repeats two of them while the embedded account serves:

- a service's first request loads its botocore model with a loader made anew for every
  model (``moto.core.utils._load_service_model``), and a fresh loader lists every service
  botocore knows (hundreds of folders) to find the model's newest version: about 30 ms per
  service;
- every request finds its service by listing moto's own package folder
  (``moto.backends.list_of_moto_modules``, about 0.8 ms, under the server's one lock).

``install`` makes moto keep its first loader (the models it returns are still moto's own,
its extras applied, each loaded once) and list its folder once. Measured with
``python bench/bench_smoke.py``.
"""

from __future__ import annotations

import functools
from typing import Any

_MARK = "_ohpen_once"


def install() -> None:
    """Make both lookups happen once per process (idempotent)."""
    import moto.backends as moto_backends
    import moto.core.utils as moto_utils

    utils: Any = moto_utils  # create_loader is imported there, not exported
    backends: Any = moto_backends
    if getattr(utils.create_loader, _MARK, False):
        return
    one_loader = functools.cache(utils.create_loader)
    setattr(one_loader, _MARK, True)
    utils.create_loader = one_loader
    listed = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: listed
