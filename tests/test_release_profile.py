"""The authors'-release options of the archs and options/authors_release/: each reproduces what the release computes."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from basicsr.archs import build_network
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.utils.options import ordered_yaml
from conftest import run_entry
from torch import nn as nn

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.archs.fs_rrdbnet_arch import FsRRDBNet
from fasrgan_basicsr.archs.shared_extractor_arch import SharedFeatureExtractor
from fasrgan_basicsr.archs.weight_init import kaiming_init_
from fasrgan_basicsr.generators.loading import generator_options, load_generator

REPO = Path(__file__).resolve().parents[1]
RELEASE = REPO / 'options' / 'authors_release'
TINY = dict(num_feat=8, num_grow_ch=4)


def params(net):
    return sum(p.numel() for p in net.parameters())


# ------------------------------------------------------------------ UNet BatchNorm eps
def test_release_batchnorm_eps_is_the_channel_count_of_the_first_norm_of_each_stage():
    net = build_network(dict(type='UNetDiscriminatorFA', bn_eps_as_channels=True))
    stages = [net.enc1, net.enc2, net.enc3, net.enc4, net.dec3, net.dec2, net.dec1]
    norms = [[m for m in stage if isinstance(m, nn.BatchNorm2d)] for stage in stages]
    assert [(a.eps, b.eps) for a, b in norms] == [(64.0, 1e-5), (128.0, 1e-5), (256.0, 1e-5), (256.0, 1e-5),
                                                  (128.0, 1e-5), (64.0, 1e-5), (64.0, 1e-5)]
    default = build_network(dict(type='UNetDiscriminatorFA'))
    assert {m.eps for m in default.modules() if isinstance(m, nn.BatchNorm2d)} == {1e-5}
    assert params(net) == params(default)  # eps is no parameter: the same checkpoints load into both


def test_release_batchnorm_normalises_with_that_eps():
    torch.manual_seed(0)
    net = build_network(dict(type='UNetDiscriminatorFA', num_feat=8, input_size=16, bn_eps_as_channels=True)).train()
    x = torch.rand(2, 3, 16, 16)
    conv, norm = net.enc1[0], net.enc1[1]
    z = conv(x)
    mean, var = z.mean((0, 2, 3), keepdim=True), z.var((0, 2, 3), unbiased=False, keepdim=True)
    expected = (z - mean) / torch.sqrt(var + 8.0)  # eps = 8 channels; weight 1, bias 0
    assert torch.allclose(norm(z), expected, atol=1e-6)
    # the same weights with the default eps give a visibly different score and map
    default = build_network(dict(type='UNetDiscriminatorFA', num_feat=8, input_size=16)).train()
    default.load_state_dict(net.state_dict())
    (_, m1), (_, m2) = net(x), default(x)
    assert (m1 - m2).abs().max() > 1e-2


# ------------------------------------------------------------------ extractor and stacked generator
def test_release_extractor_computes_stem_plus_blocks_of_stem_exactly():
    torch.manual_seed(0)
    e = SharedFeatureExtractor(num_feat=8, num_block=2, num_grow_ch=4, shortcut=True)
    x = torch.rand(1, 3, 12, 10)
    stem = e.conv_first(x)
    assert torch.equal(e(x), stem + e.body(stem))
    plain = SharedFeatureExtractor(num_feat=8, num_block=2, num_grow_ch=4)
    plain.load_state_dict(e.state_dict())
    assert torch.equal(plain(x), e.body(stem))  # the difference between the two is exactly the stem


@pytest.mark.parametrize('shared, deep', [(1, 16), (2, 15)])
def test_parameter_counts_release_and_default(shared, deep):
    release = FsRRDBNet(num_shared_block=shared, num_block=deep, layout='stacked')
    default = FsRRDBNet(num_shared_block=shared, num_block=deep)
    assert (params(release), params(default)) == (12_418_371, 12_381_443)


def test_stacked_generator_is_the_release_extractor_then_a_whole_rrdbnet_on_its_features():
    torch.manual_seed(0)
    net = FsRRDBNet(num_shared_block=1, num_block=2, layout='stacked', **TINY).eval()
    # the deep part, as BasicSR's RRDBNet with 8 input channels (the release's RRDBNet(in_nc=nf)):
    deep = RRDBNet(num_in_ch=8, num_out_ch=3, num_feat=8, num_block=2, num_grow_ch=4).eval()
    state = {k.replace('conv_entry.', 'conv_first.'): v for k, v in net.state_dict().items()
             if not k.startswith('extractor.')}
    deep.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        stem = net.extractor.conv_first(x)
        assert torch.equal(net(x), deep(stem + net.extractor.body(stem)))


def test_stacked_checkpoints_keep_their_names_and_load_back_through_the_project_loader(tmp_path):
    torch.manual_seed(0)
    net = FsRRDBNet(num_shared_block=2, num_block=1, layout='stacked', **TINY).eval()
    keys = list(net.state_dict())
    assert keys[:2] == ['extractor.conv_first.weight', 'extractor.conv_first.bias'] and 'conv_entry.weight' in keys
    assert not any(k.startswith('body.') and k.split('.')[1] == '1' for k in keys)  # deep body has 1 block
    path = tmp_path / 'net_g.pth'
    torch.save({'params': net.state_dict()}, path)
    assert generator_options(net.state_dict()) == dict(type='FsRRDBNet', num_in_ch=3, num_out_ch=3, num_feat=8,
                                                       num_shared_block=2, num_block=1, num_grow_ch=4,
                                                       layout='stacked')
    loaded, _ = load_generator(str(path))
    x = torch.rand(1, 3, 5, 4)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    # a default-layout FsRRDBNet refuses it, naming the missing and the unexpected keys
    with pytest.raises(RuntimeError, match='conv_entry'):
        FsRRDBNet(num_shared_block=2, num_block=1, **TINY).load_state_dict(net.state_dict())


@pytest.mark.subprocess
def test_stacked_generator_is_not_passed_off_as_an_rrdbnet(tmp_path):
    spandrel = pytest.importorskip('spandrel')
    torch.manual_seed(0)
    net = FsRRDBNet(num_shared_block=1, num_block=1, layout='stacked', **TINY)
    path = tmp_path / 'net_g.pth'
    torch.save({'params': net.state_dict()}, path)
    from fasrgan_basicsr.interop import spandrel as support
    ours = {arch().id for arch in support.ARCHITECTURES}
    own = spandrel.ArchRegistry()  # spandrel's own architectures (whatever another test installed globally)
    own.add(*[a for a in spandrel.MAIN_REGISTRY.architectures() if a.architecture.id not in ours])
    with pytest.raises(spandrel.UnsupportedModelError):
        spandrel.ModelLoader(registry=own).load_from_file(str(path))
    support.install(own)  # this project's architectures: it loads as what it is
    assert spandrel.ModelLoader(registry=own).load_from_file(str(path)).architecture.id == 'FsRRDBNet'
    export = [sys.executable, '-m', 'fasrgan_basicsr.cli.export', '-i', str(path), '-o', str(tmp_path / 'o')]
    refused = subprocess.run(export + ['--format', 'pth'], capture_output=True, text=True)
    assert refused.returncode == 2 and not (tmp_path / 'o').exists()
    assert refused.stderr.strip().splitlines() == [
        f"error: --format pth: {path} is a FsRRDBNet with layout 'stacked', which computes no BasicSR arch, so it has "
        'no plain key names; export safetensors or onnx.']
    written = subprocess.run(export + ['--format', 'safetensors'], capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    assert "layout 'stacked': not a plain RRDBNet or MSRResNet" in written.stdout
    assert "this project's FsRRDBNet key names" in written.stdout


# ------------------------------------------------------------------ Kaiming initialisation
def _std_ratio(layer, scale=1.0):
    weight = getattr(layer, 'weight_orig', layer.weight).detach()
    fan_in = weight[0].numel()
    return weight.std().item() / (scale * math.sqrt(2 / fan_in))


@pytest.mark.parametrize('arch', [dict(type='UNetDiscriminatorFA', input_size=32),
                                  dict(type='VGGFeatureDiscriminator', input_size=32)])
def test_kaiming_init_statistics_of_the_discriminators(arch):
    torch.manual_seed(0)
    net = build_network(dict(arch, weight_init='kaiming'))
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    big = [m for m in layers if m.weight.numel() >= 10_000]  # enough weights for a tight std estimate
    assert big and all(abs(_std_ratio(m) - 1) < 0.05 for m in big), [_std_ratio(m) for m in big]
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in layers)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) and not m.bias.any() for m in norms)
    # PyTorch's default (kaiming-uniform with a = √5: std = 1/√(3 fan_in)) is what the default keeps
    torch.manual_seed(0)
    default = build_network(dict(arch))
    first = next(m for m in default.modules() if isinstance(m, nn.Conv2d))
    assert abs(_std_ratio(first) - math.sqrt(1 / 6)) < 0.05  # (1/√(3n)) / √(2/n) = √(1/6) ≈ 0.41


def test_kaiming_init_of_the_release_generator_scales_extractor_and_deep_part_differently():
    torch.manual_seed(0)
    net = FsRRDBNet(num_shared_block=1, num_block=1, layout='stacked', weight_init='kaiming')
    assert abs(_std_ratio(net.extractor.body[0].rdb1.conv5) - 1) < 0.05  # define_E: scale 1
    assert abs(_std_ratio(net.body[0].rdb1.conv5, 0.1) - 1) < 0.05  # define_G: scale 0.1
    assert abs(_std_ratio(net.conv_entry, 0.1) - 1) < 0.05
    assert not net.conv_up1.bias.any() and not net.extractor.conv_first.bias.any()


def test_kaiming_init_reaches_the_weights_of_spectral_normalised_layers():
    torch.manual_seed(0)
    layer = nn.utils.spectral_norm(nn.Linear(400, 300))
    before = layer.weight_orig.detach().clone()
    kaiming_init_(layer)
    assert not torch.equal(before, layer.weight_orig) and abs(_std_ratio(layer) - 1) < 0.05


@pytest.mark.parametrize('arch, option, value', [('UNetDiscriminatorFA', 'weight_init', 'xavier'),
                                                 ('VGGFeatureDiscriminator', 'weight_init', 'Kaiming'),
                                                 ('FsRRDBNet', 'layout', 'release'),
                                                 ('FsRRDBNet', 'weight_init', 'xavier')])
def test_unknown_profile_values_are_refused_naming_the_option(arch, option, value):
    with pytest.raises(ValueError, match=f'{arch}: {option} must be one of'):
        build_network({'type': arch, option: value})


# ------------------------------------------------------------------ options/authors_release/
def load(name):
    return yaml.load((RELEASE / name).read_text(), Loader=ordered_yaml()[0])


def test_release_option_files_hold_the_released_values():
    fa, fs, fafs, pre = (load(f'train_{n}_x4.yml') for n in ('FASRGAN', 'FsSRGAN', 'FAFsSRGAN', 'FsRRDBNet_PSNR'))
    for opt in (fa, fs, fafs):
        assert opt['train']['scheduler']['milestones'] == [49999, 99999, 199999, 299999]  # "lr_steps" - 1
        assert opt['train']['batchnorm_updates'] == 'release'
        assert opt['train']['total_iter'] == 500000 and opt['train']['ema_decay'] == 0
        assert opt['network_d']['weight_init'] == 'kaiming'
    assert fa['train']['attention_opt']['loss_weight'] == 5e-2 and fa['network_d']['bn_eps_as_channels'] is True
    assert fa['datasets']['train']['gt_size'] == 128 and fa['val']['val_freq'] == 2000
    assert fs['datasets']['train']['batch_size_per_gpu'] == 32 and fs['datasets']['train']['gt_size'] == 192
    assert fafs['datasets']['train']['batch_size_per_gpu'] == 12 and fafs['path']['pretrain_network_g'] is None
    assert fafs['train']['optim_g']['lr'] == fafs['train']['optim_d']['lr'] == 2.5e-5
    assert fafs['train']['attention_opt']['loss_weight'] == 1e-2 and fafs['network_d']['bn_eps_as_channels']
    assert pre['datasets']['train']['gt_size'] == 192 and pre['train']['optim_g']['lr'] == 2e-4
    assert pre['train']['scheduler']['milestones'] == [49999, 99999, 199999, 599999, 799999]
    for opt in (fa, fs, fafs, pre):  # sub-images of the release's extract_subimgs_single.py (thresh_sz 48)
        assert opt['datasets']['train']['dataroot_gt'].startswith('datasets/DIV2K_authors_release/')
    assert fs['path']['pretrain_network_g'] == f'experiments/{pre["name"]}/models/net_g_latest.pth'
    for opt in (fs, fafs, pre):
        assert opt['network_g']['layout'] == 'stacked' and opt['network_g']['weight_init'] == 'kaiming'


@pytest.mark.parametrize('name', sorted(p.name for p in RELEASE.glob('*.yml')))
def test_release_option_files_build_their_networks(name):
    opt = load(name)
    g = build_network(dict(opt['network_g']))
    if opt['network_g']['type'] == 'FsRRDBNet':
        assert params(g) == 12_418_371
    if 'network_d' in opt:
        d = build_network(dict(opt['network_d']))
        size = opt['datasets']['train']['gt_size']
        with torch.no_grad():
            x = g.extractor(torch.zeros(1, 3, size, size)) if opt['network_d']['num_in_ch'] == 64 else \
                torch.zeros(1, 3, size, size)
            d.eval()(x)
    text = (RELEASE / name).read_text()
    assert 'codes/options/train/' in text.split('\nname:')[0]  # the header cites the released file


@pytest.mark.subprocess
def test_release_option_file_trains_through_the_real_entry_point(tmp_path, tiny_data):
    """options/authors_release/train_FAFsSRGAN_x4.yml shrunk to a tiny CPU run, its profile options kept."""
    opt = json.loads(json.dumps(load('train_FAFsSRGAN_x4.yml')))
    opt.update(num_gpu=0, name='release_tiny')
    opt['network_g'].update(num_feat=8, num_grow_ch=4, num_block=1)
    opt['network_d'].update(num_in_ch=8, num_feat=4, input_size=32)
    opt['datasets']['train'].update(dataroot_gt=tiny_data['train_gt'], dataroot_lq=tiny_data['train_lq'],
                                    filename_tmpl='{}x4', io_backend={'type': 'disk'}, gt_size=32,
                                    batch_size_per_gpu=2, num_worker_per_gpu=0)
    opt['datasets']['val'].update(dataroot_gt=tiny_data['val_gt'], dataroot_lq=tiny_data['val_lq'])
    opt['train'].update(total_iter=2)
    del opt['train']['perceptual_opt']  # VGG19's weights cannot be downloaded here
    for key in ('optim_g', 'optim_d'):
        del opt['train'][key]['fused']
    opt['val'].update(val_freq=2, save_img=False, metrics={'psnr': {'type': 'calculate_psnr', 'crop_border': 4}})
    opt['logger'].update(print_freq=1, save_checkpoint_freq=2, use_tb_logger=False)
    run_entry('train.py', opt, tmp_path)
    models = tmp_path / 'experiments' / 'release_tiny' / 'models'
    g = torch.load(models / 'net_g_2.pth', weights_only=True)['params']
    assert 'conv_entry.weight' in g and 'extractor.body.1.rdb3.conv5.weight' in g  # stacked, E2
    d = torch.load(models / 'net_d_2.pth', weights_only=True)['params']
    assert 'enc1.1.running_var' in d


# ------------------------------------------------------------------ BatchNorm running statistics
def bn_buffers(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()
            if k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))}


def release_bookkeeping(net_d, real, fake):
    """What the release's FASRGAN step does to the discriminator's BatchNorm buffers: D(fake), D(real) in its generator
    step, D(real), D(fake) in its discriminator step, all in train mode (models/FASRGAN_model.py)."""
    with torch.no_grad():
        for batch in (fake, real, real, fake):
            net_d.train()(batch)
    return bn_buffers(net_d)


def test_release_momenta_make_two_updates_land_where_four_do():
    from fasrgan_basicsr.models.gan_step import release_batchnorm_momenta
    for m in (0.1, 0.01, 0.5):
        x, r, f = torch.rand(3, 8, dtype=torch.float64)
        four = x
        for batch in (f, r, r, f):
            four = (1 - m) * four + m * batch
        a, b = release_batchnorm_momenta(m)
        two = (1 - b) * ((1 - a) * x + a * r) + b * f
        assert torch.allclose(two, four, atol=1e-15, rtol=0)
    assert release_batchnorm_momenta(0.1) == pytest.approx((0.171 / 0.8271, 0.1729), abs=1e-12)


@pytest.mark.parametrize('reuse', [True, False])
def test_batchnorm_updates_release_leaves_the_running_statistics_as_the_release(tmp_path, reuse):
    import copy

    from conftest import NO_DATA, build_training_model, tiny_batch, tiny_options
    runs = {}
    for mode in ('step', 'release'):
        torch.manual_seed(0)
        model = build_training_model(tiny_options(NO_DATA, reuse_discriminator_outputs=reuse,
                                                  batchnorm_updates=mode), tmp_path / mode)
        assert model.reuse_discriminator_outputs is reuse
        model.feed_data(tiny_batch())
        before = copy.deepcopy(model.net_d)
        model.optimize_parameters(current_iter=1)
        runs[mode] = (model, before)
    model, before = runs['release']
    want = release_bookkeeping(copy.deepcopy(before), model.gt, model.output.detach())
    got = bn_buffers(model.net_d)
    assert got.keys() == want.keys() and len(got) == 3 * 14  # 7 stages × 2 norms × (mean, var, count)
    for key in got:
        assert torch.allclose(got[key].double(), want[key].double(), atol=1e-6, rtol=1e-5), key
    assert int(got['enc1.1.num_batches_tracked']) == 4
    # the default keeps the step's own updates (reused: real then generated), which differ
    default, before = runs['step']
    with torch.no_grad():
        for batch in ((default.gt, default.output.detach()) if reuse else
                      (default.gt, default.output.detach(), default.gt, default.output.detach())):
            before.train()(batch)
    own = bn_buffers(before)
    assert all(torch.allclose(bn_buffers(default.net_d)[k].double(), own[k].double(), atol=1e-6, rtol=1e-5)
               for k in own)
    assert not torch.allclose(bn_buffers(default.net_d)['enc1.1.running_mean'], got['enc1.1.running_mean'])
    # and the weights are the same either way: only the running statistics differ
    for (k, a), b in zip(default.net_d.state_dict().items(), model.net_d.state_dict().values()):
        if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked')):
            assert torch.allclose(a, b, atol=1e-6, rtol=0), k
    assert all(torch.allclose(a, b, atol=1e-6, rtol=0) for a, b in zip(default.net_g.state_dict().values(),
                                                                       model.net_g.state_dict().values()))


def test_batchnorm_updates_takes_step_release_or_nothing(tmp_path):
    from conftest import NO_DATA, build_training_model, tiny_options
    with pytest.raises(ValueError, match="train:batchnorm_updates must be step, release or ~, got 'four'"):
        build_training_model(tiny_options(NO_DATA, batchnorm_updates='four'), tmp_path)


# ------------------------------------------------------------------ learning-rate steps and sub-images
def lrs_per_iteration(milestones, iterations, release):
    """The lr each iteration trains with: the release steps its scheduler before every iteration (codes/train.py),
    BasicSR's train loop from iteration 2 on (``BaseModel.update_learning_rate``)."""
    from basicsr.models.lr_scheduler import MultiStepRestartLR
    param = torch.nn.Parameter(torch.zeros(1))
    if release:
        optimizer = torch.optim.SGD([param], lr=1.0)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, 0.5)
    else:
        optimizer = torch.optim.Adam([param], lr=1.0)
        scheduler = MultiStepRestartLR(optimizer, milestones, gamma=0.5)
    lrs = []
    for it in range(1, iterations + 1):
        if release or it > 1:
            optimizer.step()  # (torch warns when a scheduler steps before any optimizer step)
            scheduler.step()
        lrs.append(optimizer.param_groups[0]['lr'])
    return lrs


def test_milestones_one_below_the_releases_steps_halve_the_lr_at_the_same_iteration():
    release = lrs_per_iteration([50, 100], 150, release=True)
    assert release[48:51] == [1.0, 0.5, 0.5] and release[98:101] == [0.5, 0.25, 0.25]  # iterations 49-51, 99-101
    assert lrs_per_iteration([49, 99], 150, release=False) == release  # the release profile's milestones
    plain = lrs_per_iteration([50, 100], 150, release=False)
    assert plain[48:51] == [1.0, 1.0, 0.5] and sum(a != b for a, b in zip(plain, release)) == 2  # one late each


def test_the_release_profiles_sub_images_skip_edge_strips_up_to_48_pixels():
    from fasrgan_basicsr.datasets_prep.extract_subimages import subimage_starts
    from fasrgan_basicsr.datasets_prep.prepare_div2k import PROFILES
    release, paper = PROFILES['authors_release']['thresh_size'], PROFILES['paper']['thresh_size']
    assert (release, paper) == (48, 0)
    # 1000 px: crops at 0, 240, 480 leave 40 px; the release adds no crop for them, the default a flush one at 520
    assert subimage_starts(1000, 480, 240, release) == [0, 240, 480]
    assert subimage_starts(1000, 480, 240, paper) == [0, 240, 480, 520]
    assert subimage_starts(1356, 480, 240, release) == subimage_starts(1356, 480, 240, paper) == [0, 240, 480, 720,
                                                                                                  876]
