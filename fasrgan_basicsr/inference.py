"""Moved: ``fasrgan-infer`` (``python -m fasrgan_basicsr.cli.inference``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.inference import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/inference.py', 'fasrgan-infer', run))
