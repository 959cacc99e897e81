"""Test: ``fasrgan-test -opt options/test/test_FASRGAN_x4.yml``.

The same command as ``python fasrgan_basicsr/test.py`` and ``python -m fasrgan_basicsr.test``: BasicSR's
``test_pipeline`` with this plugin registered and the option file checked first. Results go to
``results/<name>`` under the root (the current folder, ``--root DIR`` or ``$FASRGAN_ROOT``).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
from fasrgan_basicsr.pipeline import runner


def main(argv=None):
    """Run the test pipeline on ``argv`` (default: the command line); exits with the run's status."""
    runner.test(argv)


if __name__ == '__main__':
    main()
