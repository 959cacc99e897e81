"""Safe checkpoint loading, and the score-map viewer on a trained-shape FASRGAN pair."""
import os
import pickle
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from conftest import TINY_D, TINY_G

from fasrgan_basicsr.utils.checkpoint import CheckpointError, load_network, load_state_dict

PWNED = 'pwned'  # the file the payload would create in the working directory


class RunsCode:
    def __reduce__(self):
        return (os.system, (f'touch {PWNED}',))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'params': RunsCode()}, f)
    with pytest.raises(ValueError, match=r'evil.pth: refused — it holds pickled objects .*could run arbitrary code'):
        load_state_dict(str(path))
    assert not (tmp_path / 'pwned').exists()


def test_basicsr_checkpoints_prefer_ema_and_strip_module_prefix(tmp_path):
    net = build_network(dict(TINY_G))
    ema = {f'module.{k}': v + 1 for k, v in net.state_dict().items()}
    torch.save({'params': net.state_dict(), 'params_ema': ema}, tmp_path / 'g.pth')
    state = load_state_dict(str(tmp_path / 'g.pth'))
    assert all(torch.equal(state[k], v + 1) for k, v in net.state_dict().items())
    assert load_state_dict(str(tmp_path / 'g.pth'), param_keys=('params',)).keys() == net.state_dict().keys()


def test_mismatched_or_missing_checkpoints_name_the_file(tmp_path):
    torch.save({'params': build_network(dict(TINY_G)).state_dict()}, tmp_path / 'g.pth')
    with pytest.raises(ValueError, match=r'g.pth: does not fit UNetDiscriminatorFA \(missing:? \w'):
        load_network(build_network(dict(TINY_D)), str(tmp_path / 'g.pth'))
    with pytest.raises(CheckpointError, match='nope.pth: no such checkpoint file'):
        load_state_dict(str(tmp_path / 'nope.pth'))
    (tmp_path / 'cut.pth').write_bytes((tmp_path / 'g.pth').read_bytes()[:100])
    with pytest.raises(ValueError, match='cut.pth: not a readable checkpoint'):
        load_state_dict(str(tmp_path / 'cut.pth'))


def test_score_map_viewer_runs_as_a_command(tiny_data, tmp_path):
    """The real entry point on a trained-shape pair: every output per image, panels HR | SR | M | M stretched."""
    torch.manual_seed(0)
    g, d = build_network(dict(TINY_G)), build_network(dict(TINY_D))
    torch.save({'params': g.state_dict()}, tmp_path / 'g.pth')
    torch.save({'params': d.state_dict()}, tmp_path / 'd.pth')
    (tmp_path / 'opt.yml').write_text(yaml.safe_dump({'network_g': TINY_G, 'network_d': TINY_D}))
    out, lr_dir = tmp_path / 'maps', tmp_path / 'lr'
    lr_dir.mkdir()
    lr = cv2.imread(os.path.join(tiny_data['val_lq'], 'chelseax4.png'))
    cv2.imwrite(str(lr_dir / 'chelseax4.png'), lr)
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.visualize_score_map', '-opt',
                           str(tmp_path / 'opt.yml'), '--net_g', str(tmp_path / 'g.pth'), '--net_d',
                           str(tmp_path / 'd.pth'), '-i', str(lr_dir), '-o', str(out), '--hr', tiny_data['val_gt'],
                           '--normalize', '--device', 'cpu'], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [f'chelseax4_{k}.png' for k in (
        'panel', 'score_map', 'score_map_norm', 'sr')]
    assert proc.stdout.startswith(f'{out / "chelseax4_panel.png"}  M min ')
    assert cv2.imread(str(out / 'chelseax4_sr.png')).shape == (48, 64, 3)
    hr = cv2.imread(os.path.join(tiny_data['val_gt'], 'chelsea.png'))
    panel = cv2.imread(str(out / 'chelseax4_panel.png'))
    tile = panel[70:70 + 48 * 6, 10:10 + 64 * 6]  # the HR tile, enlarged 6× (64 → 384 pixels), below the title
    assert np.array_equal(tile, hr.repeat(6, axis=0).repeat(6, axis=1))
