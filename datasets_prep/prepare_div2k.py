"""In a clone, ``python datasets_prep/prepare_div2k.py`` is the command ``fasrgan-prepare-div2k``."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a clone without an install can run it too

from fasrgan_basicsr.cli.prepare_div2k import run  # noqa: E402

if __name__ == '__main__':
    sys.exit(run())
