"""torchrun with 2 CPU processes (gloo): ranks stay identical and match one process on the same global batch."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import REPO, tiny_options

from fasrgan_basicsr.demos.photos import write_paired_folders

TORCHRUN = Path(sys.executable).with_name('torchrun')
FS_G = {'type': 'FsRRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1, 'num_block': 1,
        'num_grow_ch': 4}
MODELS = {
    'FASRGANModel': dict(network_d={'type': 'UNetDiscriminatorFA', 'num_feat': 4, 'input_size': 32}),
    'FsSRGANModel': dict(network_g=FS_G, network_d={'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4,
                                                    'input_size': 32}, map_gan_opt=None, attention_opt=None),
    'FAFsSRGANModel': dict(network_g=FS_G, network_d={'type': 'UNetDiscriminatorFA', 'num_in_ch': 8, 'num_feat': 4,
                                                      'input_size': 32}),
}
# after training, every rank writes its own parameters (only rank 0 writes checkpoints)
DUMP = f'''import runpy, sys, torch, torch.distributed as dist
import fasrgan_basicsr
runpy.run_path({str(REPO / 'fasrgan_basicsr' / 'train.py')!r}, run_name='__main__')
from fasrgan_basicsr.pipeline.resilience import SESSION
m = SESSION.model
rank = dist.get_rank() if dist.is_initialized() else 0
torch.save({{'g': dict(m.get_bare_model(m.net_g).named_parameters()), 'd': dict(m.net_d.named_parameters())}},
           f'rank{{rank}}.pth')
'''

pytestmark = pytest.mark.skipif(not TORCHRUN.exists(), reason='torchrun not installed beside this python')


@pytest.fixture(scope='module')
def fixed_crops(tmp_path_factory):
    """32×32 HR images = the crop size, no flips: every rank sees exactly what one process would."""
    root = tmp_path_factory.mktemp('ddp_data')
    tr = write_paired_folders(str(root / 'train'), ['astronaut', 'coffee', 'rocket', 'motorcycle'], scale=4,
                              downscale=4, crop=(32, 32))
    va = write_paired_folders(str(root / 'val'), ['chelsea'], scale=4, downscale=4, crop=(32, 32))
    return {'train_gt': tr[0], 'train_lq': tr[1], 'val_gt': va[0], 'val_lq': va[1]}


def _train(data, root, model_type, world, **extra):
    opt = tiny_options(data, name=f'{model_type}_{world}', model_type=model_type, total_iter=3,
                       **{**MODELS[model_type], **extra})
    opt['datasets']['train'].update(use_hflip=False, use_rot=False, dataset_enlarge_ratio=2,
                                    batch_size_per_gpu=4 // world)
    opt['val']['val_freq'] = 1000
    root.mkdir(parents=True)
    (root / 'opt.yml').write_text(yaml.safe_dump(opt, sort_keys=False))
    (root / 'dump.py').write_text(DUMP)
    launcher = [str(TORCHRUN), '--standalone', f'--nproc_per_node={world}'] if world > 1 else [sys.executable]
    args = ['--launcher', 'pytorch'] if world > 1 else []
    proc = subprocess.run([*launcher, 'dump.py', '-opt', 'opt.yml', *args], cwd=root, capture_output=True, text=True,
                          env=dict(os.environ, FASRGAN_ROOT=str(root), OMP_NUM_THREADS='1'), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    log = next((root / 'experiments' / opt['name']).glob('train_*.log')).read_text()
    first = re.search(r'iter:\s+1,.*', log).group(0)
    losses = {k: float(v) for k, v in re.findall(r'(l_[gd]_\w+): ([-+0-9.e]+)', first)}
    return [torch.load(root / f'rank{r}.pth', weights_only=True) for r in range(world)], losses


def _max_diff(a, b):
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


@pytest.mark.parametrize('model_type', list(MODELS))
def test_two_ranks_stay_identical_and_match_one_process(fixed_crops, tmp_path, model_type):
    # per-sample-decomposable settings (no BatchNorm, standard GAN): the global-batch loss is the mean of the
    # ranks' losses, so DDP's averaged gradients must reproduce one process on the whole batch
    extra = dict(relativistic=False)
    extra['network_d'] = dict(MODELS[model_type]['network_d'], norm='none')
    (rank0, rank1), ddp_losses = _train(fixed_crops, tmp_path / 'ddp', model_type, 2, **extra)
    (single,), single_losses = _train(fixed_crops, tmp_path / 'one', model_type, 1, **extra)
    for net in ('g', 'd'):
        assert _max_diff(rank0[net], rank1[net]) == 0, f'{net} differs between ranks'
        assert _max_diff(rank0[net], single[net]) < 1e-4, f'{net} differs from one process'
    assert any(k.startswith('extractor.') for k in rank0['g']) == (model_type != 'FASRGANModel')
    assert ddp_losses.keys() == single_losses.keys() and len(ddp_losses) >= 4
    for name, value in single_losses.items():
        assert ddp_losses[name] == pytest.approx(value, rel=1e-4, abs=1e-7), name


def test_paper_settings_train_distributed_with_identical_ranks(fixed_crops, tmp_path):
    # BatchNorm discriminator and relativistic losses: batch statistics are per rank (as BasicSR's DDP ESRGAN),
    # parameters stay identical across ranks
    (rank0, rank1), _ = _train(fixed_crops, tmp_path / 'ddp', 'FAFsSRGANModel', 2)
    for net in ('g', 'd'):
        assert _max_diff(rank0[net], rank1[net]) == 0
