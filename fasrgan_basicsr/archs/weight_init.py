"""Kaiming initialisation as the authors' release applies it to whole networks.

The release initialises every discriminator (and the shared extractor) with Kaiming-normal weights
(``a = 0``, ``mode='fan_in'``, scale 1) and zero biases, BatchNorm with weight 1 and bias 0, and its
generators the same way with the weights scaled by 0.1 (``models/networks.py``: ``init_weights(net,
init_type='kaiming', scale=...)`` in ``define_D`` / ``define_E`` / ``define_G``). This project's archs
keep PyTorch's default initialisation (BasicSR's RRDB scales its convs by 0.1) unless their
``weight_init`` option is ``'kaiming'``.
"""
import torch
from torch import nn as nn
from torch.nn import init

WEIGHT_INITS = ('default', 'kaiming')


def check_weight_init(arch, weight_init):
    if weight_init not in WEIGHT_INITS:
        raise ValueError(f'{arch}: weight_init must be one of {WEIGHT_INITS}, got {weight_init!r}.')


@torch.no_grad()
def kaiming_init_(module, scale=1.0):
    """Re-initialise every conv and linear layer of ``module`` (Kaiming normal × ``scale``, zero bias) and
    every BatchNorm (weight 1, bias 0). A spectral-normalised layer gets its ``weight_orig`` initialised."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            weight = getattr(m, 'weight_orig', m.weight)
            init.kaiming_normal_(weight, a=0, mode='fan_in')
            weight.mul_(scale)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.fill_(1)
            m.bias.zero_()
    return module
