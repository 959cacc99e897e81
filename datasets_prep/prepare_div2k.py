"""``python datasets_prep/prepare_div2k.py`` in a clone: the command ``fasrgan-prepare-div2k`` (see its ``--help``)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a clone without an install can run it too

from fasrgan_basicsr.cli.prepare_div2k import main, run_cli  # noqa: E402
from fasrgan_basicsr.datasets_prep.common import INTERRUPTED  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_cli(main, interrupted=INTERRUPTED))
