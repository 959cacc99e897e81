"""Shared fixtures: tiny datasets from scikit-image photographs, tiny option dicts, and a runner
for the real entry points (``fasrgan_basicsr/train.py``, ``test.py``) in a temporary root."""
import copy
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import fasrgan_basicsr  # noqa: F401  (compat layer + registration before any basicsr import)
from fasrgan_basicsr.demos.photos import write_paired_folders

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared'

torch.set_num_threads(2)


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """Train (2 photos, ~128 px) and val (1 photo, 48×64) paired folders, ×4 MATLAB bicubic."""
    root = tmp_path_factory.mktemp('tiny_data')
    train = write_paired_folders(str(root / 'train'), ['astronaut', 'coffee'], scale=4, downscale=4)
    val = write_paired_folders(str(root / 'val'), ['chelsea'], scale=4, downscale=4, crop=(48, 64))
    return {'train_gt': train[0], 'train_lq': train[1], 'val_gt': val[0], 'val_lq': val[1]}


def paired_dataset(name, gt, lq, **extra):
    return dict(name=name, type='PairedImageDataset', dataroot_gt=gt, dataroot_lq=lq, filename_tmpl='{}x4',
                io_backend={'type': 'disk'}, **extra)


#: dataroots for a model built in-process, whose datasets are never read
NO_DATA = {'train_gt': '.', 'train_lq': '.', 'val_gt': '.', 'val_lq': '.'}
TINY_G = {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'num_grow_ch': 4}
TINY_D = {'type': 'UNetDiscriminatorFA', 'num_in_ch': 3, 'num_feat': 4, 'input_size': 32}


def tiny_options(data, name='tiny', model_type='FASRGANModel', total_iter=4, network_g=None, network_d=None,
                 **train_extra):
    """A complete BasicSR training option dict for a tiny GAN on ``tiny_data``."""
    train = {
        'ema_decay': 0.999,
        'optim_g': {'type': 'Adam', 'lr': 1e-3, 'weight_decay': 0, 'betas': [0.9, 0.99]},
        'optim_d': {'type': 'Adam', 'lr': 1e-3, 'weight_decay': 0, 'betas': [0.9, 0.99]},
        'scheduler': {'type': 'MultiStepLR', 'milestones': [3], 'gamma': 0.5},
        'total_iter': total_iter,
        'warmup_iter': -1,
        'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1e-2, 'reduction': 'mean'},
        'gan_opt': {'type': 'GANLoss', 'gan_type': 'vanilla', 'loss_weight': 5e-3},
        'map_gan_opt': {'type': 'ScoreMapGANLoss', 'gan_type': 'vanilla', 'loss_weight': 5e-3},
        'attention_opt': {'type': 'AttentionL1Loss', 'loss_weight': 1e-2},
        'net_d_iters': 1,
        'net_d_init_iters': 0,
    }
    train.update(train_extra)
    train = {k: v for k, v in train.items() if v is not None}
    return {
        'name': name,
        'model_type': model_type,
        'scale': 4,
        'num_gpu': 0,
        'manual_seed': 0,
        'datasets': {
            'train': paired_dataset('tiny_train', data['train_gt'], data['train_lq'], gt_size=32, use_hflip=True,
                                    use_rot=True, num_worker_per_gpu=0, batch_size_per_gpu=2,
                                    dataset_enlarge_ratio=4, prefetch_mode=None),
            'val': paired_dataset('tiny_val', data['val_gt'], data['val_lq']),
        },
        'network_g': copy.deepcopy(network_g or TINY_G),
        'network_d': copy.deepcopy(network_d or TINY_D),
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': train,
        'val': {'val_freq': 2, 'save_img': False, 'metrics': {
            'psnr': {'type': 'calculate_psnr', 'crop_border': 4, 'test_y_channel': True}}},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 2, 'use_tb_logger': False},
    }


def srmodel_test_options(data, name, network_g, model_path, param_key='params_ema'):
    """A BasicSR test option dict evaluating a generator checkpoint with plain SRModel."""
    return {
        'name': name, 'model_type': 'SRModel', 'scale': 4, 'num_gpu': 0,
        'datasets': {'test_1': paired_dataset('tiny_val', data['val_gt'], data['val_lq'])},
        'network_g': copy.deepcopy(network_g),
        'path': {'pretrain_network_g': model_path, 'param_key_g': param_key, 'strict_load_g': True},
        'val': {'save_img': True, 'suffix': None, 'metrics': {
            'psnr': {'type': 'calculate_psnr', 'crop_border': 4, 'test_y_channel': True},
            'ssim': {'type': 'calculate_ssim', 'crop_border': 4, 'test_y_channel': True}}},
    }


def run_entry(script, opt, root, *args, opt_name='opt.yml', check=True):
    """Run ``fasrgan_basicsr/<script>`` on ``opt`` (a dict, or a path) with experiments under ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(opt, dict):
        opt_path = root / opt_name
        opt_path.write_text(yaml.safe_dump(opt, sort_keys=False))
    else:
        opt_path = opt
    env = dict(os.environ, FASRGAN_ROOT=str(root), OMP_NUM_THREADS='2')
    proc = subprocess.run([sys.executable, str(REPO / 'fasrgan_basicsr' / script), '-opt', str(opt_path), *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{script} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def write_stand_in_weights(torch_home, build, filename, std=0.01):
    """Random weights of ``build()``'s shapes where torchvision's loader looks: ``<torch_home>/hub/checkpoints``.

    No model weights can be downloaded here; the real loading code reads these. Returns the state saved,
    so tests can check that the loader read exactly it.
    """
    with torch.device('meta'):
        shapes = {k: v.shape for k, v in build().state_dict().items()}
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=gen) * std for k, shape in shapes.items()}
    ckpt_dir = Path(torch_home) / 'hub' / 'checkpoints'
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    torch.save(state, ckpt_dir / filename)
    return state


@pytest.fixture
def stand_in_vgg19(tmp_path, monkeypatch):
    """A VGG19 checkpoint of the right shapes in a temporary torch cache; returns the state saved."""
    from torchvision.models import vgg19
    state = write_stand_in_weights(tmp_path / 'torch_home', vgg19, 'vgg19-dcbb9e9d.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.chdir(tmp_path)  # no experiments/pretrained_models/vgg19-dcbb9e9d.pth here
    return state


def build_training_model(opt, tmp_path=None, dist=False):
    """Build a BasicSR model in-process from a training option dict, as ``parse_options`` would (``dist``: in a
    process group of one, which the caller has initialised)."""
    from basicsr.models import build_model
    opt = copy.deepcopy(opt)
    opt.update(is_train=True, dist=dist, rank=0, world_size=1, auto_resume=False)
    root = Path(tmp_path or '.') / 'experiments' / opt['name']
    opt['path'].update(experiments_root=str(root), models=str(root / 'models'),
                       training_states=str(root / 'training_states'), log=str(root),
                       visualization=str(root / 'visualization'))
    for key in ('models', 'training_states'):
        os.makedirs(opt['path'][key], exist_ok=True)
    return build_model(opt)


def tiny_batch(seed=0, batch=2, size=32, scale=4):
    gen = torch.Generator().manual_seed(seed)
    return {'lq': torch.rand(batch, 3, size // scale, size // scale, generator=gen),
            'gt': torch.rand(batch, 3, size, size, generator=gen)}


class _Messages(logging.Handler):
    """Collects what BasicSR's root logger emits (it does not propagate, so ``caplog`` sees nothing)."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def basicsr_messages():
    """The messages logged through ``basicsr.utils.get_root_logger()`` during the test, in order, from INFO up (the
    level training logs at)."""
    handler = _Messages()
    logger = logging.getLogger('basicsr')
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.messages
    logger.removeHandler(handler)
    logger.setLevel(level)
