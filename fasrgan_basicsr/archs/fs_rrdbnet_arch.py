from basicsr.archs.arch_util import make_layer
from basicsr.archs.rrdbnet_arch import RRDB
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn
from torch.nn import functional as F

from .fs_split import load_any_names, save_plain_names
from .shared_extractor_arch import SharedFeatureExtractor


@ARCH_REGISTRY.register()
class FsRRDBNet(nn.Module):
    """Feature-sharing ESRGAN generator (Fs-SRGAN / FA+Fs-SRGAN, paper Sec. III-B), ×4.

    One self-contained module: ``extractor`` (a :class:`SharedFeatureExtractor` of ``num_shared_block``
    RRDBs, which the feature-sharing models also hand to the discriminator) followed by the deep part
    (``num_block`` RRDBs, ``conv_body``) and ESRGAN's reconstruction (two nearest ×2 upsamplings with
    convs, ``conv_hr``, ``conv_last``). The long skip starts at the extractor's first conv, so the
    whole network computes exactly BasicSR's ``RRDBNet`` with ``num_shared_block + num_block`` RRDBs,
    and its ``state_dict`` is that ``RRDBNet``'s (``fs_split``): its checkpoints load as they are
    wherever ESRGAN weights load. It loads plain ``RRDBNet`` weights of that depth (any split of the
    same total) and the ``extractor.*`` names of earlier checkpoints. Paper settings: E1G16 for
    Fs-SRGAN, E2G15 for FA+Fs-SRGAN (12,381,443 parameters either way).

    Shapes: ``(B, num_in_ch, H, W)`` → ``(B, num_out_ch, 4H, 4W)``.
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_shared_block=1, num_block=16, num_grow_ch=32,
                 scale=4):
        super().__init__()
        if scale != 4:
            raise ValueError(f'FsRRDBNet upsamples ×4 (the extractor must read LR and HR images alike), got {scale}.')
        self.num_shared_block = num_shared_block
        self.extractor = SharedFeatureExtractor(num_in_ch, num_feat, num_shared_block, 'rrdb', num_grow_ch)
        self.body = make_layer(RRDB, num_block, num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        self.register_state_dict_post_hook(save_plain_names)  # checkpoints hold RRDBNet's names
        self.register_load_state_dict_pre_hook(load_any_names)

    def forward(self, x):
        stem, feat = self.extractor.stem_and_features(x)
        feat = stem + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode='nearest')))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode='nearest')))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))
