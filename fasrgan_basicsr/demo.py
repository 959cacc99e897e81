"""Moved: ``fasrgan-demo`` (``python -m fasrgan_basicsr.cli.demo``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.demo import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/demo.py', 'fasrgan-demo', run))
