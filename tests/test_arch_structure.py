"""The archs layer by layer: default arguments are the paper's configurations, the discriminators are built
as the paper and the release describe them (kernels, channels, norms, slopes, upsampling), the Fs generators
start from BasicSR's initialisation, and every refused argument or input names itself."""
import pytest
import torch
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.archs.srresnet_arch import MSRResNet
from torch import nn
from torch.nn import functional as F

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.archs.bicubic_arch import Bicubic
from fasrgan_basicsr.archs.fs_msrresnet_arch import FsMSRResNet
from fasrgan_basicsr.archs.fs_rrdbnet_arch import FsRRDBNet
from fasrgan_basicsr.archs.fs_split import num_shared_blocks, to_plain_state_dict
from fasrgan_basicsr.archs.shared_extractor_arch import SharedFeatureExtractor
from fasrgan_basicsr.archs.unet_discriminator_arch import UNetDiscriminatorFA
from fasrgan_basicsr.archs.vgg_feature_discriminator_arch import VGGFeatureDiscriminator


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def layers(seq):
    """Each layer of a Sequential as a tuple of what defines it (spectral norm: ``sn`` in the tuple)."""
    out = []
    for m in seq:
        sn = ('sn',) if hasattr(m, 'weight_orig') else ()
        if isinstance(m, nn.Conv2d):
            out.append(('conv', m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0]) + sn)
        elif isinstance(m, nn.Linear):
            out.append(('linear', m.in_features, m.out_features) + sn)
        elif isinstance(m, nn.BatchNorm2d):
            out.append(('bn', m.num_features, m.eps))
        elif isinstance(m, nn.LeakyReLU):
            out.append(('lrelu', m.negative_slope))
        else:
            out.append((type(m).__name__,))
    return out


# ------------------------------------------------------------------------------------------- defaults
def test_default_arguments_are_the_paper_configurations():
    fs = FsRRDBNet()  # Fs-SRGAN: E1G16 RRDBs, 64 features, growth 32 (paper Sec. III-B)
    assert (fs.num_shared_block, len(fs.extractor.body), len(fs.body), n_params(fs)) == (1, 1, 16, 12_381_443)
    srgan_fs = FsMSRResNet()  # SRGAN_Fs: one residual block shared, 13 deep (paper Sec. IV-H)
    assert (len(srgan_fs.extractor.body), len(srgan_fs.body), n_params(srgan_fs)) == (1, 13, 1_369_859)
    extractor = SharedFeatureExtractor()  # a conv to 64 channels and one RRDB of growth 32
    assert n_params(extractor) == (3 * 9 * 64 + 64) + 719_424
    assert extractor(torch.rand(1, 3, 5, 6)).shape == (1, 64, 5, 6)
    vgg = VGGFeatureDiscriminator()  # reads the 64 shared channels of 192×192 crops
    assert (vgg.features[0].in_channels, vgg.input_size, vgg.classifier[0].in_features) == (64, 192, 512 * 3 * 3)
    assert Bicubic()(torch.rand(1, 3, 4, 5)).shape == (1, 3, 16, 20)


# ---------------------------------------------------------------------------------- VGG discriminator
def vgg_stage(cin, cout, first):
    return ([('conv', cin, cout, 3, 1, 1)] + ([] if first else [('bn', cout, 1e-5)]) + [('lrelu', 0.2)]
            + [('conv', cout, cout, 4, 2, 1), ('bn', cout, 1e-5), ('lrelu', 0.2)])


def test_vgg_feature_discriminator_is_esrgans_vgg_style_with_strided_convs():
    d = VGGFeatureDiscriminator(num_in_ch=5, num_feat=2, input_size=128)
    # 128 → 4 in five stages of num_feat × (1, 2, 4, 8, 8) channels; no BatchNorm after the very first conv
    expected = (vgg_stage(5, 2, True) + vgg_stage(2, 4, False) + vgg_stage(4, 8, False) + vgg_stage(8, 16, False)
                + vgg_stage(16, 16, False))
    assert layers(d.features) == expected
    assert layers(d.classifier) == [('linear', 16 * 4 * 4, 100), ('lrelu', 0.2), ('linear', 100, 1)]


@pytest.mark.parametrize('norm', ['none', 'spectral'])
def test_vgg_feature_discriminator_norm_options(norm):
    d = VGGFeatureDiscriminator(num_in_ch=3, num_feat=2, input_size=8, norm=norm)
    sn = ('sn',) if norm == 'spectral' else ()
    assert layers(d.features) == [('conv', 3, 2, 3, 1, 1) + sn, ('lrelu', 0.2), ('conv', 2, 2, 4, 2, 1) + sn,
                                  ('lrelu', 0.2)]
    assert layers(d.classifier) == [('linear', 2 * 4 * 4, 100) + sn, ('lrelu', 0.2), ('linear', 100, 1) + sn]


def test_vgg_feature_discriminator_input_sizes():
    for size, spatial, channels in ((8, 4, 2), (6, 3, 2), (24, 3, 8), (192, 3, 16)):  # one stage is enough
        d = VGGFeatureDiscriminator(num_in_ch=3, num_feat=2, input_size=size)
        assert d.classifier[0].in_features == channels * spatial**2
        assert d(torch.rand(2, 3, size, size)).shape == (2, 1)
    for size in (4, 3, 10, 0):  # no stage, or halving ends at 5
        with pytest.raises(ValueError, match=f'input_size must halve down to 3 or 4 .*got {size}'):
            VGGFeatureDiscriminator(input_size=size)


def test_vgg_feature_discriminator_names_a_wrong_input():
    d = VGGFeatureDiscriminator(num_in_ch=3, num_feat=2, input_size=8)
    with pytest.raises(ValueError, match=r'built for 8×8 inputs \(network_d.input_size\) but received 8×16'):
        d(torch.rand(1, 3, 8, 16))
    with pytest.raises(ValueError, match=r'expects \(B, C, H, W\), got shape \(3, 8, 8\)'):
        d(torch.rand(3, 8, 8))


# --------------------------------------------------------------------------------- UNet discriminator
def test_unet_layers_and_score_head():
    d = UNetDiscriminatorFA(num_in_ch=4, num_feat=2, map_channels=1, input_size=16)
    stage = lambda cin, cout: [('conv', cin, cout, 3, 1, 1), ('bn', cout, 1e-5), ('ReLU',),  # noqa: E731
                               ('conv', cout, cout, 3, 1, 1), ('bn', cout, 1e-5), ('ReLU',)]
    for name, cin, cout in (('enc1', 4, 2), ('enc2', 2, 4), ('enc3', 4, 8), ('enc4', 8, 8), ('dec3', 16, 4),
                            ('dec2', 8, 2), ('dec1', 4, 2)):
        assert layers(getattr(d, name)) == stage(cin, cout), name
    assert layers([d.to_map]) == [('conv', 2, 1, 1, 1, 0)]
    assert layers(d.classifier) == [('linear', 8 * 2 * 2, 1024), ('lrelu', 0.2), ('linear', 1024, 1)]


def test_unet_forward_recomputed_from_its_layers():
    """Max-pool down, bilinear ×2 up with aligned corners (the release's ``nn.Upsample``), skip feature first."""
    torch.manual_seed(0)
    d = UNetDiscriminatorFA(num_feat=4, input_size=16, norm='none').eval()
    x = torch.rand(2, 3, 16, 16)
    e1 = d.enc1(x)
    e2 = d.enc2(F.max_pool2d(e1, 2))
    e3 = d.enc3(F.max_pool2d(e2, 2))
    e4 = d.enc4(F.max_pool2d(e3, 2))
    up = lambda t: F.interpolate(t, scale_factor=2, mode='bilinear', align_corners=True)  # noqa: E731
    y = d.dec3(torch.cat([e3, up(e4)], 1))
    y = d.dec2(torch.cat([e2, up(y)], 1))
    y = d.to_map(d.dec1(torch.cat([e1, up(y)], 1)))
    with torch.no_grad():
        score, score_map = d(x)
    assert torch.equal(score, d.classifier(e4.flatten(1)))
    assert torch.equal(score_map, y)


# ---------------------------------------------------------------------------------- Fs generators
def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_fs_generators_start_from_the_plain_archs_initialisation():
    """With the same seed an Fs generator's weights are those of BasicSR's arch of the same depth."""
    torch.manual_seed(3)
    fs = FsRRDBNet(num_feat=8, num_grow_ch=4, num_shared_block=2, num_block=1)
    torch.manual_seed(3)
    assert same_state(fs, RRDBNet(3, 3, num_feat=8, num_block=3, num_grow_ch=4))
    torch.manual_seed(3)
    fs = FsMSRResNet(num_feat=8, num_shared_block=1, num_block=2)
    torch.manual_seed(3)
    assert same_state(fs, MSRResNet(num_feat=8, num_block=3))


def test_split_names_of_a_state_without_extractor():
    plain = RRDBNet(3, 3, num_feat=4, num_block=2, num_grow_ch=2).state_dict()
    assert num_shared_blocks({}) == 0 and num_shared_blocks(plain) == 0
    converted = to_plain_state_dict(plain)
    assert list(converted) == list(plain) and all(converted[k] is plain[k] for k in plain)


@pytest.mark.parametrize('build, message', [
    (lambda: FsRRDBNet(scale=2), r'FsRRDBNet upsamples ×4 .*got 2'),
    (lambda: FsMSRResNet(upscale=3), r'FsMSRResNet upsamples ×4 .*got 3'),
    (lambda: SharedFeatureExtractor(block='dense'), r"SharedFeatureExtractor: block must be one of .*got 'dense'"),
    (lambda: VGGFeatureDiscriminator(norm='group'), r"VGGFeatureDiscriminator: norm must be one of .*got 'group'"),
    (lambda: Bicubic(num_in_ch=3, num_out_ch=1), r'Bicubic keeps the channels: num_in_ch \(3\) must equal'),
])
def test_refused_arguments_name_themselves(build, message):
    with pytest.raises(ValueError, match=message):
        build()
