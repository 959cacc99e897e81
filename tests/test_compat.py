"""The compatibility layer: basicsr imports on current torchvision, and resume works without CUDA."""
import inspect
import sys

import pytest
import torch

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr import compat
from fasrgan_basicsr.utils import distributed
from fasrgan_basicsr.utils.checkpoint import CheckpointError


def test_basicsr_imports_and_degradations_use_the_alias():
    import basicsr.data.degradations as degradations
    import torchvision.transforms.functional as functional

    assert 'torchvision.transforms.functional_tensor' in sys.modules
    assert degradations.rgb_to_grayscale is functional.rgb_to_grayscale
    img = torch.rand(1, 3, 4, 4)
    gray = degradations.rgb_to_grayscale(img, num_output_channels=3)
    expected = (0.2989 * img[:, 0] + 0.587 * img[:, 1] + 0.114 * img[:, 2]).unsqueeze(1).expand(-1, 3, -1, -1)
    assert torch.allclose(gray, expected, atol=1e-6)


def test_apply_is_idempotent_and_replaces_resume_loader():
    import basicsr.train
    compat.apply()
    compat.apply()
    # (training's resilience hooks, once installed in this process, wrap it: functools.wraps keeps the way back)
    assert inspect.unwrap(basicsr.train.load_resume_state) is compat.load_resume_state


def _opt(tmp_path, auto_resume, resume_state=None):
    models = tmp_path / 'models'
    models.mkdir(exist_ok=True)
    for it in (2, 4, 7, 10):
        torch.save({'params': {'w': torch.ones(1)}}, models / f'net_g_{it}.pth')
    return {'auto_resume': auto_resume, 'num_gpu': 0, 'name': 'x', 'network_g': {},
            'path': {'training_states': str(tmp_path / 'training_states'), 'models': str(models),
                     'resume_state': resume_state}}


def test_auto_resume_picks_the_newest_state_onto_cpu(tmp_path):
    states = tmp_path / 'training_states'
    states.mkdir()
    for it in (2, 10, 4):
        torch.save({'iter': it, 'epoch': 0, 'optimizers': [], 'schedulers': [], 't': torch.ones(1)},
                   states / f'{it}.state')
    (states / 'notes.state.txt').write_text('not a state')
    opt = _opt(tmp_path, auto_resume=True)
    state = compat.load_resume_state(opt)
    assert state['iter'] == 10 and state['t'].device.type == 'cpu'
    assert opt['path']['resume_state'].endswith('10.state')
    # check_resume points the networks at the checkpoints of that iteration
    assert opt['path']['pretrain_network_g'].endswith('net_g_10.pth')


def test_no_state_means_fresh_start(tmp_path):
    assert compat.load_resume_state(_opt(tmp_path, auto_resume=True)) is None
    assert compat.load_resume_state(_opt(tmp_path, auto_resume=False)) is None


def test_explicit_resume_state_on_cpu(tmp_path):
    path = tmp_path / '7.state'
    torch.save({'iter': 7, 'epoch': 1, 'optimizers': [], 'schedulers': []}, path)
    assert compat.load_resume_state(_opt(tmp_path, auto_resume=False, resume_state=str(path)))['iter'] == 7


def test_auto_resume_skips_an_unreadable_newest_state_or_broken_network_checkpoint(tmp_path, capfd):
    states = tmp_path / 'training_states'
    states.mkdir()
    for it in (2, 4, 7):
        torch.save({'iter': it, 'epoch': 0, 'optimizers': [], 'schedulers': []}, states / f'{it}.state')
    opt = _opt(tmp_path, auto_resume=True)
    (states / '7.state').write_bytes((states / '7.state').read_bytes()[:50])  # killed mid-write (pre-atomic)
    (tmp_path / 'models' / 'net_g_4.pth').write_bytes(b'garbage')  # its iteration's network is broken
    assert compat.load_resume_state(opt)['iter'] == 2
    err = capfd.readouterr().err
    assert 'skipping' in err and '7.state' in err and 'net_g_4.pth' not in err.split('7.state')[0]
    assert '4.state' in err
    assert opt['path']['pretrain_network_g'].endswith('net_g_2.pth')


def test_an_explicit_unreadable_resume_state_is_an_error(tmp_path):
    path = tmp_path / '7.state'
    path.write_bytes(b'not a state')
    with pytest.raises(CheckpointError, match=r'7.state: not a PyTorch checkpoint \(neither torch.s zip nor pickle'):
        compat.load_resume_state(_opt(tmp_path, auto_resume=False, resume_state=str(path)))


def test_ddp_device_ids_name_the_current_cuda_device_and_none_on_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'current_device', lambda: 5)
    assert distributed.ddp_device_ids(torch.device('cuda')) == [5]
    assert distributed.ddp_device_ids(torch.device('cuda', 5)) == [5]
    assert distributed.ddp_device_ids(torch.device('cpu')) is None
