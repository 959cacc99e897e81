"""Compatibility layer between BasicSR 1.4.2 (2022) and today's torch/torchvision.

``import fasrgan_basicsr`` calls :func:`apply` before anything imports ``basicsr``. Each fix is small,
idempotent, one module named after what it repairs:

1. :mod:`.torchvision_alias`: ``import basicsr`` on torchvision >= 0.17 (``functional_tensor`` removed);
2. :mod:`.resume`: ``--auto_resume`` without CUDA, from ``path.training_states``, skipping unreadable states;
3. :mod:`.loading`: ``BaseModel.load_network`` weights-only, naming the file and why it does not fit;
4. :mod:`.distributed`: distributed training without CUDA (gloo, CPU DDP), ``LOCAL_RANK``'s GPU with it;
5. :mod:`.option_loader`: BasicSR's own option loader (``ordered_yaml``) reads plain data only;
6. :mod:`.realesrgan`: BasicSR's Real-ESRGAN models on the run's own device (CPU included);
7. :mod:`.usm_sharp`: the Real-ESRGAN models' USM sharpening as two 1-D Gaussian passes (several times faster;
   applied before fix 6);
8. :mod:`.fft_filter2d`: the Real-ESRGAN models' blur and sinc filtering by FFT on CPU batches (applied before
   fix 6; CUDA keeps BasicSR's convolution);
9. :mod:`.poisson_levels`: the 8-bit levels BasicSR's Poisson noise counts, by a histogram instead of a sort on the
   CPU (the same tensor as ``torch.unique``'s; the noise is BasicSR's bit for bit).

Nothing here changes BasicSR's behaviour on a machine where it already worked, for option files and
checkpoints that hold plain data, except fix 7's sharpened images and fix 8's filtered CPU batches, which differ
from BasicSR's by float32 round-off (within 1e-6 of BasicSR's own computation; near the rare values within
round-off of a threshold or rounding step further on, more: fix 7's docstring). This layer imports only
:mod:`fasrgan_basicsr.utils`.
"""
from .torchvision_alias import alias_functional_tensor

alias_functional_tensor()  # before anything below imports basicsr

# isort: split
from .distributed import init_dist, model_to_device  # noqa: E402
from .fft_filter2d import fft_filter2d_on_cpu  # noqa: E402
from .loading import load_network  # noqa: E402
from .option_loader import safe_ordered_yaml  # noqa: E402
from .poisson_levels import poisson_levels_by_histogram  # noqa: E402
from .realesrgan import realesrgan_on_run_device  # noqa: E402
from .resume import load_resume_state, resume_map_location  # noqa: E402
from .usm_sharp import SeparableUSMSharp, usm_two_pass  # noqa: E402

__all__ = ['SeparableUSMSharp', 'apply', 'init_dist', 'load_network', 'load_resume_state', 'model_to_device',
           'resume_map_location', 'safe_ordered_yaml']

_APPLIED = False


def apply():
    """Apply every fix once. Safe to call repeatedly."""
    global _APPLIED
    if _APPLIED:
        return
    import basicsr.train
    import basicsr.utils.options
    from basicsr.models.base_model import BaseModel

    basicsr.train.load_resume_state = load_resume_state
    basicsr.utils.options.ordered_yaml = safe_ordered_yaml
    basicsr.utils.options.init_dist = init_dist
    BaseModel.load_network = load_network
    BaseModel.model_to_device = model_to_device
    usm_two_pass()  # 7 and 8 before fix 6 wraps what it finds there
    fft_filter2d_on_cpu()
    poisson_levels_by_histogram()
    realesrgan_on_run_device()
    _APPLIED = True
