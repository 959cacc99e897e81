"""Every shipped option file parses, names registered components, and states the paper's numbers."""
import re
from pathlib import Path

import pytest
import yaml
from basicsr.archs import build_network
from basicsr.utils.options import ordered_yaml

from fasrgan_basicsr.pipeline.options_check import OptionsError, check_options

OPTIONS = Path(__file__).resolve().parents[1] / 'options'
FILES = sorted(OPTIONS.rglob('*.yml'))


TRAIN_NAMES = {yaml.safe_load(f.read_text())['name'] for f in FILES if f.name.startswith('train_')}
BENCHMARK_SETS = 'Set5|Set14|BSD100|Urban100|Manga109|DIV2K_val|PIRM_val|PIRM_test'
#: the folders and LMDBs datasets_prep/ (and the demo) write: a dataroot elsewhere is a typo
PREPARED = re.compile(rf'datasets/(benchmarks/({BENCHMARK_SETS})/(HR|LR_bicubic/X4)'
                      r'|DIV2K(_authors_release)?/DIV2K_train_(HR|LR_bicubic_X4)_sub\.lmdb'
                      r'|DIV2K_realesrgan'
                      r'|RealSR_V3/(test/(HR|LR_x4)|train_(HR|LR_x4)_sub\.lmdb)'
                      r'|demo/((train|val)/(HR|LR_bicubic/X4)|realworld(/val/(HR|LQ))?))')
#: how a problem shows a relative path: quoted, then the root it was looked for under
UNDER_ROOT = r"(?: \(under the root [^)]*\))?"
PRODUCED = re.compile(r"path:pretrain_network_[gd]: 'experiments/(?P<name>[^/]+)/models/net_[gd]_latest\.pth'"
                      + UNDER_ROOT + ' does not exist')
#: the authors' released weights, where docs/authors_models.md puts them (downloaded, or joined by fasrgan-join-fs)
RELEASE_WEIGHTS = {'FASRGAN_G.pth': 'FASRGAN', 'FsSRGAN_joined.pth': 'FsSRGAN', 'FAFsSRGAN_joined.pth': 'FAFsSRGAN',
                   'RRDB_ESRGAN_x4.pth': 'ESRGAN'}
DOWNLOADED = re.compile(r"path:pretrain_network_g: 'experiments/pretrained_models/release/(?P<file>[^/']+)'"
                        + UNDER_ROOT + ' does not exist')


def acceptable_here(problem):
    """A problem only because this machine has no data, no trained runs or no GPU; the path is the right one."""
    dataroot = re.match(r"datasets:\w+:dataroot_\w+: '([^']+)'" + UNDER_ROOT + ' does not exist ', problem)
    if dataroot:
        return PREPARED.fullmatch(dataroot.group(1)) is not None
    produced = PRODUCED.match(problem)
    if produced:
        return produced.group('name') in TRAIN_NAMES
    downloaded = DOWNLOADED.match(problem)
    if downloaded:
        return downloaded.group('file') in RELEASE_WEIGHTS
    return problem.startswith('num_gpu: 1, but this machine has no CUDA GPU')


def test_acceptable_here_rejects_typos():
    assert acceptable_here("datasets:test_1:dataroot_gt: 'datasets/benchmarks/Set5/HR' does not exist (see x).")
    assert acceptable_here("datasets:test_1:dataroot_gt: 'datasets/benchmarks/Set5/HR' (under the root /r) does not "
                           "exist (see x).")
    assert not acceptable_here("datasets:test_1:dataroot_gt: 'datasets/benchmarks/Set6/HR' does not exist (see x).")
    assert not acceptable_here("datasets:test_1:dataroot_gt: 'datasets/benchmark/Set5/HR' does not exist (see x).")
    assert acceptable_here("path:pretrain_network_g: 'experiments/FASRGAN_x4_DIV2K/models/net_g_latest.pth' does "
                           "not exist (train it).")
    assert not acceptable_here("path:pretrain_network_g: 'experiments/FASRGAN_x4_DIV2k/models/net_g_latest.pth' "
                               "does not exist (train it).")
    assert acceptable_here("path:pretrain_network_g: 'experiments/pretrained_models/release/FASRGAN_G.pth' does not "
                           "exist (x).")
    assert not acceptable_here("path:pretrain_network_g: 'experiments/pretrained_models/release/FASRGAN.pth' does "
                               "not exist (x).")


def load(name):
    with open(OPTIONS / name) as f:
        return yaml.load(f, Loader=ordered_yaml()[0])


def n_params(net_opt):
    return sum(p.numel() for p in build_network(dict(net_opt)).parameters())


@pytest.mark.parametrize('path', FILES, ids=lambda p: str(p.relative_to(OPTIONS)))
def test_option_file_is_documented_and_names_registered_components(path):
    text = path.read_text()
    assert text.startswith('# '), 'each option file starts with a header saying what it is'
    opt = yaml.load(text, Loader=ordered_yaml()[0])
    opt['is_train'] = 'train' in opt['datasets']  # as the command reading it says (fasrgan-train or fasrgan-test)
    try:
        check_options(opt, str(path))
    except OptionsError as err:  # no datasets or trained runs in the test environment; nothing else may fail
        assert all(acceptable_here(p) for p in err.problems), err.problems


def test_fasrgan_file_has_the_paper_settings():
    opt = load('train_FASRGAN_x4.yml')
    train = opt['train']
    assert opt['model_type'] == 'FASRGANModel' and train['relativistic'] is True
    assert n_params(opt['network_g']) == 16_697_987  # 23 RRDBs: "16.7M parameters"
    assert opt['network_d']['type'] == 'UNetDiscriminatorFA'
    assert opt['network_d']['input_size'] == opt['datasets']['train']['gt_size'] == 128
    assert train['gan_opt']['loss_weight'] == train['map_gan_opt']['loss_weight'] == 5e-3  # λ1
    assert train['attention_opt']['loss_weight'] == 1e-2  # λ2
    assert train['pixel_opt']['loss_weight'] == 1e-2 and train['pixel_opt']['type'] == 'L1Loss'  # λ3
    assert dict(train['perceptual_opt']['layer_weights']) == {'conv5_4': 1}
    assert train['perceptual_opt']['vgg_type'] == 'vgg19' and train['perceptual_opt']['perceptual_weight'] == 1.0
    for optim in (train['optim_g'], train['optim_d']):
        assert optim['type'] == 'Adam' and optim['lr'] == 1e-4 and optim['betas'] == [0.9, 0.999]
    assert train['scheduler'] == {'type': 'MultiStepLR', 'milestones': [200000, 400000], 'gamma': 0.5}
    assert opt['datasets']['train']['batch_size_per_gpu'] == 16
    assert opt['datasets']['train']['use_hflip'] and opt['datasets']['train']['use_rot']
    assert opt['datasets']['train']['io_backend']['type'] == 'lmdb'
    assert opt['path']['pretrain_network_g'] == 'experiments/RRDBNet_PSNR_x4_DIV2K/models/net_g_latest.pth'
    assert load('train_RRDBNet_PSNR_x4.yml')['name'] == 'RRDBNet_PSNR_x4_DIV2K'


def test_ablation_files_differ_from_fasrgan_only_where_the_paper_says():
    base = load('train_FASRGAN_x4.yml')
    wofa = load('train_FASRGAN_woFA_x4.yml')
    assert 'map_gan_opt' not in wofa['train'] and 'attention_opt' not in wofa['train']
    assert {k: v for k, v in base['train'].items() if k not in ('map_gan_opt', 'attention_opt')} == wofa['train']
    for label, lam2 in (('0.05', 0.05), ('0.005', 0.005)):
        opt = load(f'train_FASRGAN_lambda2_{label}_x4.yml')
        assert opt['train']['attention_opt']['loss_weight'] == lam2
        opt['train']['attention_opt']['loss_weight'] = 1e-2
        assert opt['train'] == base['train'] and opt['network_d'] == base['network_d']


def test_srgan_fa_file():
    opt = load('train_SRGAN_FA_x4.yml')
    assert opt['model_type'] == 'SRGANFAModel' and opt['train']['relativistic'] is False
    assert opt['network_g']['type'] == 'MSRResNet' and n_params(opt['network_g']) == 1_517_571
    assert opt['network_d']['type'] == 'UNetDiscriminatorFA'
    assert opt['path']['pretrain_network_g'].startswith('experiments/' + load('train_MSRResNet_PSNR_x4.yml')['name'])


def test_feature_sharing_files_have_the_paper_settings():
    fs = load('train_FsSRGAN_x4.yml')
    g = fs['network_g']
    assert fs['model_type'] == 'FsSRGANModel' and fs['train']['share_extractor'] is True
    assert (g['type'], g['num_shared_block'], g['num_block']) == ('FsRRDBNet', 1, 16)  # E1G16
    assert n_params(g) == 12_381_443
    assert fs['network_d']['type'] == 'VGGFeatureDiscriminator' and fs['network_d']['num_in_ch'] == 64
    assert fs['network_d']['input_size'] == fs['datasets']['train']['gt_size'] == 192
    assert fs['train']['gan_opt']['loss_weight'] == 5e-3 and fs['train']['pixel_opt']['loss_weight'] == 1e-2
    assert 'map_gan_opt' not in fs['train'] and 'attention_opt' not in fs['train']
    assert fs['path']['pretrain_network_g'].startswith('experiments/' + load('train_FsRRDBNet_PSNR_x4.yml')['name'])

    wofs = load('train_FsSRGAN_woFs_x4.yml')
    assert wofs['train'].pop('share_extractor') is False and fs['train'].pop('share_extractor') is True
    assert wofs['train'] == fs['train'] and wofs['network_g'] == fs['network_g']
    for e, g_blocks in ((2, 15), (3, 14), (4, 13)):
        split = load(f'train_FsSRGAN_E{e}G{g_blocks}_x4.yml')
        assert (split['network_g']['num_shared_block'], split['network_g']['num_block']) == (e, g_blocks)
        assert split['network_d'] == load('train_FsSRGAN_x4.yml')['network_d']

    fafs = load('train_FAFsSRGAN_x4.yml')
    assert fafs['model_type'] == 'FAFsSRGANModel'
    assert (fafs['network_g']['num_shared_block'], fafs['network_g']['num_block']) == (2, 15)  # E2G15
    assert fafs['network_d']['type'] == 'UNetDiscriminatorFA' and fafs['network_d']['num_in_ch'] == 64
    assert fafs['network_d']['map_channels'] == 3
    fa = load('train_FASRGAN_x4.yml')
    for key in ('gan_opt', 'map_gan_opt', 'attention_opt', 'pixel_opt', 'perceptual_opt', 'optim_g', 'scheduler'):
        assert fafs['train'][key] == fa['train'][key]  # "the coefficients ... are the same as those of FASRGAN"

    srfs = load('train_SRGAN_Fs_x4.yml')
    assert srfs['model_type'] == 'SRGANFsModel' and srfs['train']['relativistic'] is False
    assert (srfs['network_g']['type'], srfs['network_g']['num_shared_block'], srfs['network_g']['num_block']) == (
        'FsMSRResNet', 1, 13)


_RRDB23 = dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32)
#: the release's generators: RRDB_net with "nb": 23 (test_FASRGAN.json; ESRGAN's own), model_ex + RRDBNet_G with
#: "nb" 1 + 16 (test_FsSRGAN.json) and 2 + 15 (train_FAFs_SRGAN.json)
RELEASE_NETWORKS = {'FASRGAN': _RRDB23, 'ESRGAN': _RRDB23, **{
    name: dict(type='FsRRDBNet', num_in_ch=3, num_out_ch=3, num_feat=64, num_shared_block=e, num_block=g,
               num_grow_ch=32, layout='stacked') for name, e, g in (('FsSRGAN', 1, 16), ('FAFsSRGAN', 2, 15))}}


@pytest.mark.parametrize('path', sorted((OPTIONS / 'test').rglob('test_*.yml')),
                         ids=lambda p: str(p.relative_to(OPTIONS / 'test')))
def test_test_files_load_the_generator_their_training_file_trains(path):
    test = load(path.relative_to(OPTIONS))
    names = [d['name'] for d in test['datasets'].values()]
    assert test['model_type'] == 'SRModel'
    if path.parent.name == 'realworld':  # LR photographs without HR: no-reference metrics only
        assert [d['type'] for d in test['datasets'].values()] == ['SingleImageDataset']
        assert set(test['val']['metrics']) == {'niqe', 'pi'}
    else:
        assert names == (['RealSR_V3_test'] if path.parent.name == 'RealSR_V3' else
                         ['Set5', 'Set14', 'BSD100', 'Urban100', 'Manga109', 'DIV2K_val', 'PIRM_val', 'PIRM_test'])
        distortion = 'mse' if path.parent.name == 'authors_protocol' else 'rmse'  # the release's RMSE: √ mean MSE
        assert {'psnr', 'ssim', 'lpips', 'niqe', distortion} <= set(test['val']['metrics'])
    if test['network_g']['type'] == 'Bicubic':
        assert test['path']['pretrain_network_g'] is None
        return
    weights = test['path']['pretrain_network_g']
    if weights.startswith('experiments/pretrained_models/release/'):  # the release's own: its published sizes
        model = RELEASE_WEIGHTS[weights.rsplit('/', 1)[1]]
        assert test['network_g'] == RELEASE_NETWORKS[model]
        assert test['name'] == f'{model}_x4_release_weights_authors_protocol'
        return
    exp = weights.split('/')[1]
    trains = [load(p.relative_to(OPTIONS)) for p in OPTIONS.rglob('train_*.yml')]
    train = next(t for t in trains if t['name'] == exp)
    def built(net):  # how the weights are initialised does not matter to a network that loads a checkpoint
        return {k: v for k, v in net.items() if k != 'weight_init'}
    assert built(test['network_g']) == built(train['network_g'])
