"""Fix 9: the distinct grey levels BasicSR's Poisson noise counts, by a histogram on the CPU.

``random_add_poisson_noise_pt`` (``basicsr.data.degradations``; the Real-ESRGAN models' noise, half of the time, in
both degradation stages) rounds each image to its 8-bit levels, ``clamp(round(255·I), 0, 255) / 255``, and counts
how many distinct values it holds with ``len(torch.unique(image))`` (the Poisson rate is ``2^⌈log2(count)⌉``), for
every image of the batch and again for its grey copy. ``torch.unique`` sorts the image: on the CPU that is most of
the noise step's time, for at most 256 distinct values.

Here ``torch.unique(x)`` with no other argument, on a CPU float tensor whose every value is a level ``k / 255``
(``k`` = 0 … 255; checked exactly), is answered from a 256-bin histogram of ``k``: the levels present, ascending,
computed as ``k / 255`` in ``x``'s dtype: the very tensor ``torch.unique`` returns (same values, order and dtype;
``tests/test_poisson_levels.py``), in one pass. Any other call, and every other attribute of ``torch``, is torch's
own: the fix is a stand-in for the ``torch`` name of ``basicsr.data.degradations`` only, so the random draws, their
order and the noise are BasicSR's, bit for bit.
"""
import torch
from basicsr.data import degradations

LEVELS = 255


def level_unique(x):
    """``torch.unique(x)`` for a CPU float tensor whose values are all ``k / 255``, ``k`` = 0 … 255; None otherwise."""
    if x.device.type != 'cpu' or not x.is_floating_point() or x.numel() == 0:
        return None
    levels = torch.round(x * LEVELS)
    if levels.min() < 0 or levels.max() > LEVELS or not torch.equal(levels / LEVELS, x):
        return None
    present = torch.bincount(levels.flatten().to(torch.int64), minlength=LEVELS + 1).nonzero().flatten()
    return present.to(x.dtype) / LEVELS


class TorchWithLevelUnique:
    """``torch`` as ``basicsr.data.degradations`` sees it: every attribute torch's own, but ``unique`` of 8-bit-level
    images (:func:`level_unique`)."""

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def unique(input, *args, **kwargs):
        found = level_unique(input) if not args and not kwargs else None
        return torch.unique(input, *args, **kwargs) if found is None else found


def poisson_levels_by_histogram():
    """``basicsr.data.degradations`` counts the 8-bit levels of its Poisson noise with :func:`level_unique`."""
    if not isinstance(degradations.torch, TorchWithLevelUnique):
        degradations.torch = TorchWithLevelUnique()
