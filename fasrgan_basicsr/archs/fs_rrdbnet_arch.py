from basicsr.archs.arch_util import make_layer
from basicsr.archs.rrdbnet_arch import RRDB
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn
from torch.nn import functional as F

from .fs_split import load_any_names, save_plain_names
from .shared_extractor_arch import SharedFeatureExtractor
from .weight_init import check_weight_init, kaiming_init_

LAYOUTS = ('single', 'stacked')


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

    Args:
        layout (str): ``'single'`` (default, above) or ``'stacked'``: two networks stacked, as the authors'
            release builds Fs-SRGAN (``model_ex`` then ``RRDBNet(in_nc=nf)`` in ``models/modules/architecture.py``
            and ``models/networks.py``, ``RRDBNet_G``): the extractor has a shortcut (its features are
            ``stem + RRDBs(stem)``, for the discriminator too) and the deep part is a whole RRDBNet on those
            64 channels, with its own first conv ``conv_entry`` and its own long skip from it. 12,418,371
            parameters for E1G16 or E2G15. Not an ``RRDBNet``: its checkpoints keep this class's names
            (``extractor.*``, ``conv_entry``, ``body.<j>``, …), which spandrel and BasicSR's ``RRDBNet`` do
            not load (export it as ONNX).
        weight_init (str): ``'default'`` (BasicSR's RRDB initialisation, PyTorch's elsewhere) or ``'kaiming'``
            (the release: Kaiming normal, fan_in, zero biases, scale 1 for the extractor (``define_E``) and
            0.1 for the rest (``define_G``); :mod:`.weight_init`).

    Shapes: ``(B, num_in_ch, H, W)`` → ``(B, num_out_ch, 4H, 4W)``.
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_shared_block=1, num_block=16, num_grow_ch=32,
                 scale=4, layout='single', weight_init='default'):
        super().__init__()
        if scale != 4:
            raise ValueError(f'FsRRDBNet upsamples ×4 (the extractor must read LR and HR images alike), got {scale}.')
        if layout not in LAYOUTS:
            raise ValueError(f'FsRRDBNet: layout must be one of {LAYOUTS}, got {layout!r}.')
        check_weight_init('FsRRDBNet', weight_init)
        self.num_shared_block = num_shared_block
        self.layout = layout
        self.extractor = SharedFeatureExtractor(num_in_ch, num_feat, num_shared_block, 'rrdb', num_grow_ch,
                                                shortcut=layout == 'stacked')
        if layout == 'stacked':
            self.conv_entry = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.body = make_layer(RRDB, num_block, num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        if weight_init == 'kaiming':
            kaiming_init_(self, scale=0.1)
            kaiming_init_(self.extractor)  # scale 1
        if layout == 'single':
            self.register_state_dict_post_hook(save_plain_names)  # checkpoints hold RRDBNet's names
            self.register_load_state_dict_pre_hook(load_any_names)

    def forward(self, x):
        stem, feat = self.extractor.stem_and_features(x)
        if self.layout == 'stacked':  # the deep part's long skip starts at its own first conv
            stem = feat = self.conv_entry(feat)
        feat = stem + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode='nearest')))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode='nearest')))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))
