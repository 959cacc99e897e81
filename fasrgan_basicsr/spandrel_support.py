"""Moved to :mod:`fasrgan_basicsr.interop.spandrel` (this import path is kept for one release, until 0.3)."""
from fasrgan_basicsr.interop.spandrel import MSRResNetArch, install  # noqa: F401
