"""Rebuild read_run_summary.zip from handler.py, byte for byte the same every time (fixed
timestamps and permissions), so the committed zip and its hash only change with the code:
python infra/terraform/lambda/build_zip.py"""

import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("handler.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, (HERE / "handler.py").read_bytes())
    return buffer.getvalue()


if __name__ == "__main__":
    (HERE / "read_run_summary.zip").write_bytes(build())
