"""One path rule: every relative path, in an option file or on the command line, inputs and outputs alike, resolves
against one root (``--root``, else ``$FASRGAN_ROOT``, else the current folder). The paper's two-stage workflow (the
L1 stage, then a GAN stage whose ``pretrain_network_g`` is the first stage's output) through the real ``train.py``,
run from a folder that is not the project's, and the log's first lines naming the root."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import tiny_options

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / 'fasrgan_basicsr' / 'train.py'

pytestmark = pytest.mark.subprocess


def relative_data(tiny_data, project):
    """The tiny dataset copied into ``project/data``; its dataroots relative to the project."""
    for key, folder in tiny_data.items():
        kind, part = key.split('_')  # train_gt -> data/train/HR
        shutil.copytree(folder, project / 'data' / kind / ('HR' if part == 'gt' else 'LR'), dirs_exist_ok=True)
    return {'train_gt': 'data/train/HR', 'train_lq': 'data/train/LR', 'val_gt': 'data/val/HR',
            'val_lq': 'data/val/LR'}


def stages(data):
    l1 = tiny_options(data, name='stage1_L1', model_type='SRModel', total_iter=2, gan_opt=None, map_gan_opt=None,
                      attention_opt=None, optim_d=None, net_d_iters=None, net_d_init_iters=None, pixel_opt={
                          'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'})
    del l1['network_d']
    gan = tiny_options(data, name='stage2_FASRGAN', total_iter=2)
    gan['path']['pretrain_network_g'] = 'experiments/stage1_L1/models/net_g_latest.pth'
    return l1, gan


def train(opt_path, cwd, *args, env_root=None):
    env = {k: v for k, v in os.environ.items() if k != 'FASRGAN_ROOT'}
    if env_root:
        env['FASRGAN_ROOT'] = str(env_root)
    proc = subprocess.run([sys.executable, str(TRAIN), '-opt', str(opt_path), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=dict(env, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def first_log_lines(project, name, count=3):
    log = sorted((project / 'experiments' / name).glob(f'train_{name}_*.log'))[-1]
    return log.read_text().splitlines()[:count]


@pytest.mark.parametrize('how', ['--root', 'FASRGAN_ROOT'])
def test_the_two_stage_workflow_runs_unchanged_from_another_folder(tiny_data, tmp_path, how):
    project, elsewhere = tmp_path / 'project', tmp_path / 'elsewhere'
    elsewhere.mkdir()
    l1, gan = stages(relative_data(tiny_data, project))
    (project / 'options').mkdir()
    for opt in (l1, gan):
        (project / 'options' / f'{opt["name"]}.yml').write_text(yaml.safe_dump(opt, sort_keys=False))
    for opt in (l1, gan):
        opt_path = f'options/{opt["name"]}.yml'  # relative: to the root too
        if how == '--root':
            train(opt_path, elsewhere, '--root', str(project))
        else:
            train(opt_path, elsewhere, env_root=project)
    assert (project / 'experiments' / 'stage2_FASRGAN' / 'models' / 'net_g_2.pth').is_file()
    assert not any(elsewhere.iterdir())  # nothing landed in the folder it was run from
    # the GAN stage started from the L1 stage's generator, and its log says where everything is first
    log = sorted((project / 'experiments' / 'stage2_FASRGAN').glob('train_*.log'))[-1].read_text()
    assert 'stage1_L1/models/net_g_latest.pth' in log and 'Loading RRDBNet model from' in log
    head = '\n'.join(first_log_lines(project, 'stage2_FASRGAN'))
    assert f'root: {project}' in head and str(project / 'experiments' / 'stage2_FASRGAN') in head, head


def test_from_the_project_folder_nothing_changes(tiny_data, tmp_path):
    """The README's way: run from the project's own folder, no --root."""
    project = tmp_path / 'project'
    l1, gan = stages(relative_data(tiny_data, project))
    for opt in (l1, gan):
        (project / f'{opt["name"]}.yml').write_text(yaml.safe_dump(opt, sort_keys=False))
        train(f'{opt["name"]}.yml', project)
    assert (project / 'experiments' / 'stage2_FASRGAN' / 'models' / 'net_g_2.pth').is_file()
    assert f'root: {project}' in '\n'.join(first_log_lines(project, 'stage1_L1'))


def test_a_relative_dataroot_is_not_looked_up_in_the_current_folder(tiny_data, tmp_path):
    """The data lie beside the current folder, not under the root: refused before any work, naming the resolved
    path, even though the path would exist relative to where the command was run."""
    project, elsewhere = tmp_path / 'project', tmp_path / 'elsewhere'
    project.mkdir()
    l1, _ = stages(relative_data(tiny_data, elsewhere))
    (elsewhere / 'l1.yml').write_text(yaml.safe_dump(l1, sort_keys=False))
    proc = subprocess.run([sys.executable, str(TRAIN), '-opt', str(elsewhere / 'l1.yml'), '--root', str(project)],
                          cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"datasets:train:dataroot_gt: 'data/train/HR' (under the root {project}) does not exist" in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (project / 'experiments').exists()

