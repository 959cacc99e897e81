"""Moved: ``fasrgan-export`` (``python -m fasrgan_basicsr.cli.export``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.export import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/export.py', 'fasrgan-export', run))
