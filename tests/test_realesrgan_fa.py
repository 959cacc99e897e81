"""RealESRGANFAModel and BasicSR's Real-ESRGAN models on CPU: degradations, USM targets, FA terms, exact resume."""
import copy
import math
import random
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.models.realesrgan_model import RealESRGANModel
from conftest import NO_DATA, build_training_model, run_entry, srmodel_test_options, tiny_options
from skimage import data as skdata

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.models.gan_step import DiscriminatorOutput

REPO = Path(__file__).resolve().parents[1]
FA_FILE = REPO / 'options' / 'realworld' / 'train_RealESRGAN_FA_x4plus.yml'


def recipe():
    """The degradation keys and RealESRGANDataset settings of the shipped RealESRGAN_FA option file."""
    opt = yaml.safe_load(FA_FILE.read_text())
    top = {k: v for k, v in opt.items() if k not in ('name', 'model_type', 'scale', 'num_gpu', 'manual_seed',
                                                       'datasets', 'network_g', 'network_d', 'path', 'train',
                                                       'val', 'logger', 'dist_params')}
    return top, opt['datasets']['train']


def realesrgan_options(data, name='resr', model_type='RealESRGANFAModel', total_iter=4, hr=None, **train_extra):
    top, dataset = recipe()
    opt = tiny_options(data, name=name, model_type=model_type, total_iter=total_iter,
                       network_d={'type': 'UNetDiscriminatorFA', 'num_in_ch': 3, 'num_feat': 4, 'input_size': 32,
                                  'norm': 'spectral'}, **train_extra)
    opt.update(top, gt_size=32, queue_size=4)
    if hr is not None:
        train = dict(dataset, dataroot_gt=str(hr), meta_info=str(hr / 'meta_info.txt'),
                     num_worker_per_gpu=0, batch_size_per_gpu=2, dataset_enlarge_ratio=2, name='tiny_hr')
        train.pop('use_shuffle', None)
        opt['datasets']['train'] = train
    return opt


@pytest.fixture(scope='module')
def hr_folder(tmp_path_factory):
    """Two HR photographs (160×160) and the meta_info file RealESRGANDataset reads."""
    root = tmp_path_factory.mktemp('hr')
    for name in ('astronaut', 'coffee'):
        img = getattr(skdata, name)()[:160, :160, ::-1]
        cv2.imwrite(str(root / f'{name}.png'), np.ascontiguousarray(img))
    (root / 'meta_info.txt').write_text('astronaut.png\ncoffee.png\n')
    return root


def seeded_batch(seed=0, size=96):
    g = torch.Generator().manual_seed(seed)
    delta = torch.zeros(2, 21, 21)
    delta[:, 10, 10] = 1
    kernel = torch.rand(2, 21, 21, generator=g)
    kernel = kernel / kernel.sum((1, 2), keepdim=True)
    return {'gt': torch.rand(2, 3, size, size, generator=g), 'kernel1': kernel, 'kernel2': delta,
            'sinc_kernel': delta}


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)




@pytest.fixture
def model(tmp_path):
    seed_all(0)
    return build_training_model(realesrgan_options(NO_DATA), tmp_path)


def test_builds_on_cpu_with_the_degradation_modules_and_pool_there(model):
    assert isinstance(model, RealESRGANModel) and model.relativistic is False
    assert {p.device.type for m in (model.jpeger, model.usm_sharpener) for p in m.buffers()} == {'cpu'}
    model.feed_data(seeded_batch())
    assert model.lq.shape == (2, 3, 8, 8) and model.gt.shape == (2, 3, 32, 32)
    assert model.queue_lr.device.type == 'cpu' and model.queue_ptr == 2


def test_the_degradations_are_deterministic_on_cpu(tmp_path):
    runs = []
    for i in range(2):
        seed_all(0)
        m = build_training_model(realesrgan_options(NO_DATA, name=f'd{i}'), tmp_path / str(i))
        m.feed_data(seeded_batch())
        runs.append((m.lq.clone(), m.gt.clone()))
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    assert (runs[0][0] * 255 - (runs[0][0] * 255).round()).abs().max() < 1e-4  # rounded to 8 bits as BasicSR does


@pytest.mark.parametrize('l1_usm, gan_usm', [(True, False), (False, True)])
def test_usm_targets_and_fa_terms_equal_hand_computed_values(tmp_path, l1_usm, gan_usm):
    m = build_training_model(realesrgan_options(NO_DATA, name='t'), tmp_path)
    m.opt.update(l1_gt_usm=l1_usm, percep_gt_usm=True, gan_gt_usm=gan_usm)
    plain = torch.full((1, 3, 2, 2), 0.5)
    sharp = torch.full((1, 3, 2, 2), 0.75)
    m.gt, m.gt_usm = plain, sharp
    pixel, perceptual, real_batch = m.loss_targets()
    assert pixel is (sharp if l1_usm else plain) and perceptual is sharp and real_batch is (sharp if gan_usm else plain)

    out = torch.tensor([0.25, 1.0, 0.5, 0.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    m_f = torch.tensor([0.0, 2.0, -1.0, 1.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    m_r = torch.tensor([1.0, -2.0, 0.5, 3.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    real = DiscriminatorOutput(torch.tensor([[1.5]]), m_r)
    fake = DiscriminatorOutput(torch.tensor([[-0.5]]), m_f)
    with torch.no_grad():
        g = m.generator_loss_terms(out, pixel, real, fake)
        d = m.discriminator_loss_terms(real, fake)
    t = 0.75 if l1_usm else 0.5
    diff = [abs(v - t) for v in (0.25, 1.0, 0.5, 0.0)]
    sig = [1 / (1 + math.exp(-x)) for x in (0.0, 2.0, -1.0, 1.0)]
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731  BCE(x, 1) = softplus(-x), BCE(x, 0) = softplus(x)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    expected_g = {'l_g_pix': 1e-2 * mean(diff), 'l_g_gan': 5e-3 * softplus(0.5),
                  'l_g_fine': 5e-3 * mean([softplus(-x) for x in (0.0, 2.0, -1.0, 1.0)]),
                  'l_g_attention': 1e-2 * mean([(1 - s) * e for s, e in zip(sig, diff)])}
    expected_d = {'l_d_real': softplus(-1.5), 'l_d_fake': softplus(-0.5),
                  'l_d_map_real': mean([softplus(-x) for x in (1.0, -2.0, 0.5, 3.0)]),
                  'l_d_map_fake': mean([softplus(x) for x in (0.0, 2.0, -1.0, 1.0)])}
    assert list(g) == list(expected_g) and list(d) == list(expected_d)
    for got, want in ((g, expected_g), (d, expected_d)):
        for k in want:
            assert got[k].item() == pytest.approx(want[k], rel=1e-6), k


USM_KEYS = ('l1_gt_usm', 'percep_gt_usm', 'gan_gt_usm')  # loss_targets() order: pixel, perceptual, real batch


def test_each_target_is_the_usm_sharpened_gt_unless_its_own_key_is_false(model):
    plain, sharp = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    model.gt, model.gt_usm = plain, sharp
    for key in USM_KEYS:
        model.opt.pop(key, None)
    assert all(t is sharp for t in model.loss_targets())  # absent keys: Real-ESRGAN's default
    for i, key in enumerate(USM_KEYS):
        model.opt.update(dict.fromkeys(USM_KEYS, True), **{key: False})
        assert [t is plain for t in model.loss_targets()] == [j == i for j in range(3)], key


def _snapshot(net):
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def _changed(before, net):
    return {k for k, v in net.named_parameters() if not torch.equal(before[k], v.detach())}


def test_gradients_reach_exactly_the_networks_they_should_and_the_real_batch_is_the_chosen_target(model):
    model.feed_data(seeded_batch())
    seen = []
    model.net_d.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    g0, d0 = _snapshot(model.net_g), _snapshot(model.net_d)
    terms = model.optimize_generator(current_iter=1)
    assert list(terms) == ['l_g_pix', 'l_g_gan', 'l_g_fine', 'l_g_attention']
    assert _changed(g0, model.net_g) == set(g0) and _changed(d0, model.net_d) == set()
    g1, d1 = _snapshot(model.net_g), _snapshot(model.net_d)
    model.optimize_discriminator()
    assert _changed(g1, model.net_g) == set() and _changed(d1, model.net_d) == set(d1)
    # gan_gt_usm: false in the recipe: the discriminator's real batch is the plain GT, in both updates
    assert torch.equal(seen[0], model.gt) and torch.equal(seen[2], model.gt)
    assert not torch.equal(model.gt, model.gt_usm)


def test_the_shipped_option_files_build_and_pass_the_check_but_for_data_and_runs():
    from basicsr.archs import build_network

    from fasrgan_basicsr.pipeline.options_check import OptionsError, check_options
    for path in sorted((REPO / 'options' / 'realworld').glob('train_*.yml')):
        opt = yaml.safe_load(path.read_text())
        with pytest.raises(OptionsError) as err:
            check_options(opt, str(path))
        left = [p for p in err.value.problems if 'does not exist' not in p and 'no CUDA GPU' not in p]
        assert left == [], (path.name, left)
        build_network(dict(opt['network_g']))
    fa = yaml.safe_load(FA_FILE.read_text())
    assert fa['train']['map_gan_opt']['loss_weight'] == fa['train']['gan_opt']['loss_weight'] == 0.1
    assert fa['train']['attention_opt']['loss_weight'] == fa['train']['pixel_opt']['loss_weight'] == 1.0
    assert fa['network_d']['norm'] == 'spectral' and fa['gt_size'] == 256
    assert fa['network_d']['score_head'] == 'pooled' and fa['network_d']['input_size'] is None


def test_the_real_world_files_use_the_pooled_head_and_the_papers_files_are_unchanged():
    """Which score head each shipped option file builds, and the side the option check must compare (None: any)."""
    from basicsr.archs import build_network

    from fasrgan_basicsr.archs.unet_discriminator_arch import PooledScoreHead, UNetDiscriminatorFA
    real_world = {'realworld/train_RealESRGAN_FA_x4plus.yml', 'demo/train_RealESRGAN_FA_demo.yml'}
    seen = set()
    for path in sorted((REPO / 'options').rglob('*.yml')):
        opt = yaml.safe_load(path.read_text())
        net_d = opt.get('network_d') or {}
        if net_d.get('type') != 'UNetDiscriminatorFA':
            continue
        name = str(path.relative_to(REPO / 'options'))
        seen.add(name)
        options = {k: v for k, v in net_d.items() if k != 'type'}
        if name in real_world:
            assert options['score_head'] == 'pooled' and UNetDiscriminatorFA.fixed_input_size(**options) is None
            net = build_network(dict(net_d, num_feat=4))
            assert isinstance(net.classifier, PooledScoreHead)
        else:  # the paper's profiles: no new key, the FC head sized for their patches
            gt_size = (opt.get('datasets', {}).get('train') or {}).get('gt_size')
            assert 'score_head' not in options, name
            assert UNetDiscriminatorFA.fixed_input_size(**options) == options['input_size'] == gt_size, name
    assert real_world <= seen and len(seen) >= 10


@pytest.mark.subprocess
def test_train_auto_resume_and_test_through_the_entry_points_resume_exactly(tmp_path, tiny_data, hr_folder):
    """4 iterations straight = 2, stop, --auto_resume to 4 (the pool is full from iteration 2 and dequeues after)."""
    def opts(name, total):
        opt = realesrgan_options(tiny_data, name=name, total_iter=total, hr=hr_folder)
        opt['network_g']['num_grow_ch'] = 32  # what spandrel's ESRGAN detection assumes
        opt['logger']['save_checkpoint_freq'] = 2
        opt['val']['val_freq'] = 4
        return opt

    run_entry('train.py', opts('straight', 4), tmp_path / 'a')
    run_entry('train.py', opts('split', 2), tmp_path / 'b')
    state = torch.load(tmp_path / 'b/experiments/split/training_states/2.state', weights_only=True)
    pool = state['training_pair_pool']
    assert pool['ptr'] == 4 and pool['lq'].dtype == pool['gt'].dtype == torch.uint8  # 8-bit images, held exactly
    assert pool['gt'].shape == (4, 3, 32, 32) and pool['lq'].shape == (4, 3, 8, 8) and pool['gt'].any()
    run_entry('train.py', opts('split', 4), tmp_path / 'b', '--auto_resume')
    log = sorted((tmp_path / 'b/experiments/split').glob('train_*.log'))[-1].read_text()
    assert 'Resuming training from epoch: 0, iter: 2.' in log or 'iter: 2' in log
    for net in ('net_g', 'net_d'):
        a = torch.load(tmp_path / f'a/experiments/straight/models/{net}_4.pth', weights_only=True)
        b = torch.load(tmp_path / f'b/experiments/split/models/{net}_4.pth', weights_only=True)
        assert a.keys() == b.keys()
        for key in a:
            for name in a[key]:
                assert torch.equal(a[key][name], b[key][name]), f'{net}/{key}/{name}'
    # the generator through BasicSR's plain test pipeline, and into spandrel as ESRGAN with equal outputs
    g_path = tmp_path / 'b/experiments/split/models/net_g_latest.pth'
    opt = opts('split', 4)
    run_entry('test.py', srmodel_test_options(tiny_data, 'resr_test', opt['network_g'], str(g_path)), tmp_path / 'b',
              opt_name='test.yml')
    result = sorted((tmp_path / 'b/results/resr_test').glob('test_*.log'))[-1].read_text()
    assert 0 < float(re.search(r'# psnr: ([0-9.]+)', result).group(1)) < 60
    spandrel = pytest.importorskip('spandrel')
    loaded = spandrel.ModelLoader().load_from_file(str(g_path))
    from basicsr.archs import build_network
    net = build_network(copy.deepcopy(opt['network_g']))
    net.load_state_dict(torch.load(g_path, weights_only=True)['params_ema'], strict=True)
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        assert loaded.architecture.id == 'ESRGAN' and loaded.scale == 4
        assert (loaded.model.eval()(x) - net.eval()(x)).abs().max() < 1e-6


def test_basicsr_realesrgan_baseline_builds_and_steps_on_cpu(tmp_path):
    seed_all(0)
    opt = realesrgan_options(NO_DATA, name='base', model_type='RealESRGANModel_basicsr', map_gan_opt=None,
                             attention_opt=None)
    opt['network_d'] = {'type': 'UNetDiscriminatorSN_basicsr', 'num_in_ch': 3, 'num_feat': 4}
    m = build_training_model(opt, tmp_path)
    m.feed_data(seeded_batch())
    g0 = _snapshot(m.net_g)
    m.optimize_parameters(1)
    assert _changed(g0, m.net_g) == set(g0)
    assert all(math.isfinite(v) for v in m.get_current_log().values())


def test_the_option_check_knows_real_esrgan_crops_to_the_top_level_gt_size_and_pool_batches(tiny_data):
    from fasrgan_basicsr.pipeline.options_check import OptionsError, check_options
    opt = realesrgan_options(tiny_data, name='c')
    check_options(opt)  # gt_size 32 at the top level = network_d input_size; pool 4 = 2 batches of 2
    opt.update(gt_size=64, queue_size=5)
    with pytest.raises(OptionsError) as err:
        check_options(opt)
    assert err.value.problems == [
        'network_d:input_size: UNetDiscriminatorFA is built for 32×32 inputs but gt_size is 64; make them equal.',
        'queue_size: 5 must be a positive multiple of datasets:train:batch_size_per_gpu (2): the training-pair pool '
        'swaps whole batches.']
