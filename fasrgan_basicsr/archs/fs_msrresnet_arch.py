from basicsr.archs.arch_util import ResidualBlockNoBN, default_init_weights, make_layer
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn
from torch.nn import functional as F

from .fs_split import load_any_names, save_plain_names
from .shared_extractor_arch import SharedFeatureExtractor


@ARCH_REGISTRY.register()
class FsMSRResNet(nn.Module):
    """Feature-sharing SRGAN generator (SRGAN_Fs, paper Sec. IV-H), ×4.

    "We use a convolution layer and a residual block as the shared low-level feature extraction part
    ... the number of RB in the deep feature extraction is 13": ``extractor`` (conv + LeakyReLU +
    ``num_shared_block`` residual blocks) then ``num_block`` residual blocks and MSRResNet's
    pixel-shuffle reconstruction with its bilinear global residual. The whole network computes exactly
    BasicSR's ``MSRResNet`` with ``num_shared_block + num_block`` blocks (1,369,859 parameters for 1 + 13),
    and its ``state_dict`` is that ``MSRResNet``'s (``fs_split``); it also loads the ``extractor.*``
    names of earlier checkpoints.

    Shapes: ``(B, num_in_ch, H, W)`` → ``(B, num_out_ch, 4H, 4W)``.
    """

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_shared_block=1, num_block=13, upscale=4):
        super().__init__()
        if upscale != 4:
            raise ValueError(f'FsMSRResNet upsamples ×4 (the extractor must read LR and HR images alike), '
                             f'got {upscale}.')
        self.upscale = upscale
        self.num_shared_block = num_shared_block
        self.extractor = SharedFeatureExtractor(num_in_ch, num_feat, num_shared_block, 'residual')
        self.body = make_layer(ResidualBlockNoBN, num_block, num_feat=num_feat)
        self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
        self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        # MSRResNet's initialisation, in its order: with the same seed both networks start from the same weights
        default_init_weights([self.extractor.conv_first, self.upconv1, self.conv_hr, self.conv_last], 0.1)
        default_init_weights(self.upconv2, 0.1)
        self.register_state_dict_post_hook(save_plain_names)  # checkpoints hold MSRResNet's names
        self.register_load_state_dict_pre_hook(load_any_names)

    def forward(self, x):
        out = self.body(self.extractor(x))
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out + F.interpolate(x, scale_factor=self.upscale, mode='bilinear', align_corners=False)
