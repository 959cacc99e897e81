"""``make demo``'s program (``python -m fasrgan_basicsr.cli.demo``), run whole as a smoke run: 2 iterations per
network."""
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

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
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.demo', '--root', str(tmp_path),
                           '--iterations', '2'], cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='2'),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    models = tmp_path / 'experiments' / 'FASRGAN_demo' / 'models'
    assert {'net_g_2.pth', 'net_d_2.pth'} <= {p.name for p in models.iterdir()}
    assert (tmp_path / 'experiments' / 'RRDBNet_PSNR_demo' / 'models' / 'net_g_2.pth').is_file()
    # the test log holds the PSNR of chelsea, and the demo prints the score map's range of the real panel
    log = next((tmp_path / 'results' / 'FASRGAN_demo_test').glob('test_*.log')).read_text()
    psnr = float(re.search(r'# psnr: ([\d.]+)', log).group(1))
    assert 15 < psnr < 40
    found = re.search(r'chelseax4\S*: score map M min ([\d.]+) .*max ([\d.]+) .*mean ([\d.]+)', proc.stdout)
    assert found, proc.stdout[-2000:]
    low, high, mean = map(float, found.groups())
    assert 0 <= low <= mean <= high <= 1
    panels = list((tmp_path / 'results' / 'FASRGAN_demo_test' / 'score_maps').rglob('*.png'))
    assert panels
    # nothing of the run went into the repository: the option files are untouched, no outputs appeared there
    assert tree_digest(options) == before
    assert {p: p.exists() for p in repo_outputs} == repo_outputs


def test_demo_refuses_a_bad_iteration_count_before_any_work(tmp_path):
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.demo', '--root', str(tmp_path),
                           '--iterations', '0'], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and 'argument --iterations: expected an integer >= 1, got 0' in proc.stderr
    assert not any(tmp_path.iterdir())
