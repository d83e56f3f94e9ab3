"""moto reading each service's model through one loader per process.

moto 5.2.5 answers a service's first request by loading its botocore model with a loader it
makes anew for every model (``moto.core.utils._load_service_model``), and a fresh loader
lists every service botocore knows (hundreds of folders) to find the model's newest
version: about 30 ms per service of the embedded account's start, for a listing that never
changes while the process runs. ``install`` makes moto keep its first loader; the models it
returns are moto's own (its extras applied), and each is still loaded once.
"""

from __future__ import annotations

import functools

_MARK = "_ohpen_one_loader"


def install() -> None:
    """Make moto's model loading reuse one loader (once per process)."""
    import moto.core.utils as moto_utils

    if getattr(moto_utils.create_loader, _MARK, False):
        return
    one_loader = functools.cache(moto_utils.create_loader)
    setattr(one_loader, _MARK, True)
    moto_utils.create_loader = one_loader  # type: ignore[assignment]
