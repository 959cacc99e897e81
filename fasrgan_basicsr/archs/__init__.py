from fasrgan_basicsr.utils.registration import import_modules

# importing each *_arch.py module registers its classes into BasicSR's registry
_modules = import_modules(__file__, __name__, '_arch.py')
from . import release_layouts  # noqa: E402,F401  (registers the release's checkpoint layouts with the loader)
