"""Moved: ``fasrgan-features`` (``python -m fasrgan_basicsr.cli.visualize_features``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.visualize_features import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/visualize_features.py', 'fasrgan-features', run))
