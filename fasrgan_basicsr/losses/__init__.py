from fasrgan_basicsr.utils.registration import import_modules

# importing each *_loss.py module registers its classes into BasicSR's registry
_modules = import_modules(__file__, __name__, '_loss.py')
