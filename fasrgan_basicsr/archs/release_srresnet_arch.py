from basicsr.archs.arch_util import ResidualBlockNoBN, default_init_weights, make_layer
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn

UPSCALES = (2, 3, 4)


@ARCH_REGISTRY.register()
class ReleaseSRResNet(nn.Module):
    """The SRResNet of the authors' release (``which_model_G: sr_resnet``), the generator of its SRGAN baseline.

    What the release's ``SRResNet`` in ``codes/models/modules/architecture.py`` builds with the settings of its
    ``train_SRResNet.json`` (``norm_type: null``, ``mode: CNA``; ``act_type: relu``, ``upsample_mode:
    pixelshuffle`` from ``define_G``): a 3×3 conv (no activation), ``num_block`` residual blocks without BN
    (conv–ReLU–conv plus identity), a 3×3 conv, a long skip from the first conv's output, then per ×2 (or one ×3)
    a conv to ``num_feat · r²`` channels, pixel shuffle and ReLU, and two 3×3 convs with a ReLU between them.
    It is no BasicSR ``MSRResNet``: that one has a LeakyReLU after its first conv and in its upsampling, no conv
    after its blocks and no long skip, and adds the bilinear upsampled input to its output. Release checkpoints
    of this layout (keys ``model.0``, ``model.1.sub.<i>.res.0/2``, …) are read under this class's names
    (:mod:`.release_layouts`).

    Args:
        num_in_ch, num_out_ch (int): Image channels. num_feat (int): Features (release ``nf``).
        num_block (int): Residual blocks (release ``nb``). upscale (int): 2, 3 or 4.

    Shapes: ``(B, num_in_ch, H, W)`` → ``(B, num_out_ch, upscale·H, upscale·W)``.
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16, upscale=4):
        super().__init__()
        if upscale not in UPSCALES:
            raise ValueError(f'ReleaseSRResNet: upscale must be one of {UPSCALES}, got {upscale!r}.')
        self.upscale = upscale
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = make_layer(ResidualBlockNoBN, num_block, num_feat=num_feat)
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        factors = [3] if upscale == 3 else [2] * (upscale // 2)
        for i, factor in enumerate(factors, 1):
            self.add_module(f'upconv{i}', nn.Conv2d(num_feat, num_feat * factor * factor, 3, 1, 1))
        self.factors = factors
        self.shuffles = nn.ModuleList(nn.PixelShuffle(f) for f in factors)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        default_init_weights([self.conv_first, self.conv_body, self.conv_hr, self.conv_last]
                             + [getattr(self, f'upconv{i}') for i in range(1, len(factors) + 1)], 0.1)

    def forward(self, x):
        feat = self.conv_first(x)
        out = feat + self.conv_body(self.body(feat))
        for i, shuffle in enumerate(self.shuffles, 1):
            out = self.relu(shuffle(getattr(self, f'upconv{i}')(out)))
        return self.conv_last(self.relu(self.conv_hr(out)))
