"""Train: ``fasrgan-train -opt options/train_FASRGAN_x4.yml [--auto_resume]``.

The same command as ``python fasrgan_basicsr/train.py`` and ``python -m fasrgan_basicsr.train``: BasicSR's
``train_pipeline`` with this plugin's archs, losses, models and metrics registered, the option file read as
plain data and checked before any work starts, and training that never loses work. Experiments go to
``experiments/<name>`` under the root (the current folder, ``--root DIR`` or ``$FASRGAN_ROOT``).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
from fasrgan_basicsr.pipeline import runner


def main(argv=None):
    """Run the training pipeline on ``argv`` (default: the command line); exits with the run's status."""
    runner.train(argv)


if __name__ == '__main__':
    main()
