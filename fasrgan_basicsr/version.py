"""The one version string of this package (``setup.py`` reads it; ``fasrgan_basicsr.__version__`` is it)."""
__version__ = '0.2.0'
