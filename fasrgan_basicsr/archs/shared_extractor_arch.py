from basicsr.archs.arch_util import ResidualBlockNoBN, make_layer
from basicsr.archs.rrdbnet_arch import RRDB
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn

BLOCK_TYPES = ('rrdb', 'residual')


@ARCH_REGISTRY.register()
class SharedFeatureExtractor(nn.Module):
    """Low-level feature extractor shared by the generator and the discriminator (Fs-SRGAN, paper Sec. III-B).

    ``H_shared = F_shared(x)`` (Eq. 11): a 3×3 conv to ``num_feat`` channels then ``num_block`` blocks,
    fully convolutional and size-preserving, so it reads LR images (for the generator) and SR/HR
    images (for the discriminator) alike.

    - ``block='rrdb'`` (Fs-SRGAN, FA+Fs-SRGAN): ESRGAN's RRDBs; stem = conv, as in BasicSR's RRDBNet.
    - ``block='residual'`` (SRGAN_Fs): residual blocks without BN; stem = LeakyReLU(0.1)(conv), as in
      BasicSR's MSRResNet ("a convolution layer and a residual block", paper Sec. IV-H).

    ``shortcut=True``: ``H_shared = stem + blocks(stem)``, a residual connection around the blocks, as the
    authors' release builds its extractor (``model_ex`` in ``models/modules/architecture.py``:
    ``ShortcutBlock`` around the RRDBs); the paper's Eq. 11 and the default have none.

    Parameter names (``conv_first``, ``body.<i>``) are those of RRDBNet/MSRResNet: the generators that
    hold an extractor write it under exactly these names, their deep blocks after it (``fs_split``).

    Shapes: ``(B, num_in_ch, H, W)`` → ``(B, num_feat, H, W)``.
    """

    def __init__(self, num_in_ch=3, num_feat=64, num_block=1, block='rrdb', num_grow_ch=32, shortcut=False):
        super().__init__()
        if block not in BLOCK_TYPES:
            raise ValueError(f'SharedFeatureExtractor: block must be one of {BLOCK_TYPES}, got {block!r}.')
        self.block = block
        self.shortcut = shortcut
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        if block == 'rrdb':
            self.body = make_layer(RRDB, num_block, num_feat=num_feat, num_grow_ch=num_grow_ch)
        else:
            self.body = make_layer(ResidualBlockNoBN, num_block, num_feat=num_feat)
            self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def stem_and_features(self, x):
        """``(stem, features)``: the first conv's output (where RRDBNet's long skip starts) and ``H_shared``."""
        stem = self.conv_first(x)
        if self.block == 'residual':
            stem = self.lrelu(stem)
        features = self.body(stem)
        return stem, stem + features if self.shortcut else features

    def forward(self, x):
        return self.stem_and_features(x)[1]
