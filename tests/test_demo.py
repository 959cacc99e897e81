"""``make demo``'s program (``python -m fasrgan_basicsr.cli.demo``), run whole as a smoke run: 2 iterations per
network."""
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]


def tree_digest(folder):
    """Names and contents of every file under ``folder`` (outputs must land elsewhere)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob('*') if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def test_demo_runs_end_to_end_and_writes_only_under_its_root(tmp_path):
    options = REPO / 'options' / 'demo'
    before = tree_digest(options)
    repo_outputs = {p: p.exists() for p in (REPO / 'experiments' / 'FASRGAN_demo', REPO / 'datasets' / 'demo')}
    root = tmp_path / 'new' / 'root'  # created by the demo
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.demo', '--root', str(root),
                           '--iterations', '2'],
                          cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='2'), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    models = root / 'experiments' / 'FASRGAN_demo' / 'models'
    assert {'net_g_2.pth', 'net_d_2.pth'} <= {p.name for p in models.iterdir()}
    assert (root / 'experiments' / 'RRDBNet_PSNR_demo' / 'models' / 'net_g_2.pth').is_file()
    # one screen: a line per step, the table, the pictures; the commands' output (and any warning) in the log only
    lines = proc.stdout.splitlines()
    assert [line[:6] for line in lines if line.startswith('[')] == [f'[{i}/6] ' for i in range(1, 7)]
    assert all(' ... done in ' in line for line in lines if line.startswith('['))
    assert len(lines) < 40 and proc.stderr == '', proc.stdout + proc.stderr
    assert 'iter:' not in proc.stdout and 'iter:' in (root / 'results' / 'demo.log').read_text()
    # the test log holds the PSNR of chelsea; the screen shows the same number for the test step and FASRGAN's row
    log = next((root / 'results' / 'FASRGAN_demo_test').glob('test_*.log')).read_text()
    psnr = float(re.search(r'# psnr: ([\d.]+)', log).group(1))
    assert 15 < psnr < 40 and '[4/6] test of the FASRGAN generator' in proc.stdout
    assert re.search(rf'\[4/6\].*: PSNR {psnr:.2f} dB', proc.stdout), proc.stdout
    assert re.search(rf'\| FASRGAN \| {psnr:.2f} dB \| ', proc.stdout), proc.stdout
    found = re.search(r'\[5/6\].*score map min ([\d.]+) +max ([\d.]+) +mean ([\d.]+)', proc.stdout)
    assert found, proc.stdout[-2000:]
    low, high, mean = map(float, found.groups())
    assert 0 <= low <= mean <= high <= 1
    # the comparison: five tiles and the map; the summary names the methods and says why LPIPS is missing, if it is
    panel = cv2.imread(str(root / 'results' / 'demo_panel.png'))
    assert panel is not None and panel.shape[1] > 6 * 2 * 96
    summary = (root / 'results' / 'demo_summary.md').read_text()
    for method in ('LR (nearest)', 'bicubic', 'L1 stage', 'FASRGAN'):
        assert f'| {method} |' in summary
    assert ('| n/a |' in summary) == ('LPIPS n/a: torchvision\'s AlexNet weights are not on this machine' in summary)
    assert list((root / 'results' / 'FASRGAN_demo_test' / 'score_maps').rglob('*.png'))
    # nothing of the run went into the repository: the option files are untouched, no outputs appeared there
    assert tree_digest(options) == before
    assert {p: p.exists() for p in repo_outputs} == repo_outputs
    # make clean's program removes what the demo wrote and nothing else
    keep = root / 'experiments' / 'my_run' / 'notes.txt'
    keep.parent.mkdir(parents=True)
    keep.write_text('mine')
    subprocess.run([sys.executable, str(REPO / 'fasrgan_basicsr' / 'demos' / 'outputs.py')], cwd=root, check=True,
                   capture_output=True)
    assert sorted(str(p.relative_to(root)) for p in root.rglob('*')) == ['experiments', 'experiments/my_run',
                                                                         'experiments/my_run/notes.txt']


def test_demo_refuses_a_bad_iteration_count_before_any_work(tmp_path):
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.demo', '--root', str(tmp_path),
                           '--iterations', '0'],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and 'argument --iterations: expected an integer >= 1, got 0' in proc.stderr
    assert not any(tmp_path.iterdir())
