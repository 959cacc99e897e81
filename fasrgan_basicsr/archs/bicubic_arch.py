import torch
from basicsr.utils.matlab_functions import imresize
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn


@ARCH_REGISTRY.register()
class Bicubic(nn.Module):
    """Bicubic upsampling as a weight-free "generator": the Bicubic baseline of the paper's tables.

    MATLAB-compatible bicubic interpolation (BasicSR's ``imresize``, the same kernel that made the
    benchmarks' LR images), so BasicSR's ``SRModel`` and test pipeline evaluate it like any
    generator with ``pretrain_network_g: ~``. No parameters; each image of the batch is resized on
    the CPU in float32 and returned on the input's device and dtype.

    Args:
        scale (int): Upsampling factor. Default: 4.

    Shapes: ``(B, C, H, W)`` → ``(B, C, scale·H, scale·W)``.
    """

    def __init__(self, scale=4, num_in_ch=3, num_out_ch=3):
        super().__init__()
        if num_in_ch != num_out_ch:
            raise ValueError(f'Bicubic keeps the channels: num_in_ch ({num_in_ch}) must equal num_out_ch '
                             f'({num_out_ch}).')
        self.scale = scale

    @torch.no_grad()
    def forward(self, x):
        images = [imresize(img.float().cpu(), self.scale) for img in x]
        return torch.stack(images).to(device=x.device, dtype=x.dtype)
