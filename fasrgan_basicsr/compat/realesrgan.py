"""Fix 6: BasicSR's Real-ESRGAN models on the run's own device, and their blur on non-contiguous images.

``RealESRGANModel`` and ``RealESRNetModel`` move their USM sharpener, JPEG simulator and training-pair pool to
CUDA unconditionally (``.cuda()``), so they cannot even be built on a CPU: the sharpener and the JPEG simulator
now go to the model's own device (``self.device``: CUDA when ``num_gpu`` > 0, else the CPU), and the pool is
created there. Their ``filter2D`` (blur and sinc steps) reshapes with ``view``, which fails on the non-contiguous
images the JPEG simulator returns with today's torch: it gets a contiguous copy.
"""
import torch
from basicsr.models import realesrgan_model, realesrnet_model


def _deferred_cuda(cls):
    """``cls`` whose ``.cuda()`` leaves it where it is: the Real-ESRGAN models move it to their device."""
    return type(cls.__name__, (cls,), {'cuda': lambda self, device=None: self,
                                       '__doc__': f'{cls.__name__} placed by the model on its own device.'})


def _contiguous_filter2d(filter2d):
    def contiguous_filter2d(img, kernel):
        return filter2d(img.contiguous(), kernel)
    return contiguous_filter2d


def realesrgan_on_run_device():
    """The Real-ESRGAN models' degradation modules and training-pair pool on ``self.device``."""
    for module in (realesrgan_model, realesrnet_model):
        cls = getattr(module, 'RealESRGANModel', None) or module.RealESRNetModel
        module.DiffJPEG = _deferred_cuda(module.DiffJPEG)
        module.USMSharp = _deferred_cuda(module.USMSharp)
        module.filter2D = _contiguous_filter2d(module.filter2D)
        init, enqueue = cls.__init__, cls._dequeue_and_enqueue

        def __init__(self, opt, _init=init):
            _init(self, opt)
            self.jpeger = self.jpeger.to(self.device)
            self.usm_sharpener = self.usm_sharpener.to(self.device)

        def _dequeue_and_enqueue(self, _enqueue=enqueue):
            if not hasattr(self, 'queue_lr'):  # BasicSR would create the pool with .cuda()
                batch = self.lq.size(0)
                if self.queue_size % batch:
                    raise ValueError(f'queue_size {self.queue_size} must be a multiple of the batch size {batch} '
                                     f'(datasets:train:batch_size_per_gpu).')
                self.queue_lr = torch.zeros(self.queue_size, *self.lq.shape[1:], device=self.device)
                self.queue_gt = torch.zeros(self.queue_size, *self.gt.shape[1:], device=self.device)
                self.queue_ptr = 0
            return _enqueue(self)

        cls.__init__ = __init__
        cls._dequeue_and_enqueue = _dequeue_and_enqueue
