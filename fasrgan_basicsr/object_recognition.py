"""Moved: ``fasrgan-recognize`` (``python -m fasrgan_basicsr.cli.object_recognition``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.object_recognition import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/object_recognition.py', 'fasrgan-recognize', run))
