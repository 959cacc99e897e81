"""score_outputs.py: name matching (property-style), the report and exit statuses, and Bicubic on Set5 giving
exactly test.py's numbers, collected into the same table."""
import csv
import hashlib
import os
import re
import subprocess
import sys
import urllib.error

import cv2
import numpy as np
import pytest
import yaml
from basicsr.metrics import calculate_psnr
from conftest import REPO, SHARED, run_entry, write_stand_in_weights
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fasrgan_basicsr.cli import collect_results, score_outputs
from fasrgan_basicsr.evaluation import results as res
from fasrgan_basicsr.evaluation import scoring
from fasrgan_basicsr.metrics import lpips_metric, pi_metric, unavailable
from fasrgan_basicsr.metrics.rmse_metric import calculate_rmse
from fasrgan_basicsr.utils.cli import UserError, run_cli
from fasrgan_basicsr.utils.shipped_options import shipped_option_file

SET5 = SHARED / 'benchmarks' / 'Set5'
CLI = ('-m', 'fasrgan_basicsr.cli.score_outputs')
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# --- name matching -----------------------------------------------------------------------------------------------

STEM_CHARS = 'ab0x1_-'
stems = st.text(STEM_CHARS, min_size=1, max_size=6).filter(lambda s: not s.startswith('.'))
tokens = st.text('abSRx40_-', min_size=1, max_size=6)
separators = st.sampled_from(list(scoring.SEPARATORS))
scale_tags = st.builds(lambda x, n: f'{x}{n}', st.sampled_from('xX'), st.integers(1, 16))
release_suffixes = st.one_of(
    st.just(''),
    st.builds(lambda sep, tok: sep + tok, separators, tokens),                          # baby_x4_SR, baby-ESRGAN
    scale_tags,                                                                         # babyx4
    st.builds(lambda tag, sep, tok: tag + sep + tok, scale_tags, separators, tokens))   # babyx4_RCAN
extensions = st.sampled_from(['.png', '.jpg', '.PNG', '.bmp', '.tif'])


@PROPERTY
@given(st.integers(1, 5).flatmap(lambda n: st.sets(st.text(STEM_CHARS, min_size=n, max_size=n), min_size=1,
                                                   max_size=8)), st.data())
def test_each_sr_name_made_of_an_hr_name_and_a_release_suffix_finds_it(hr_stems, data):
    # stems of one length: none is a prefix of another, so each SR name has exactly one possible owner
    hr_names = [f'{s}{data.draw(extensions)}' for s in sorted(hr_stems)]
    sr_of = {hr: f'{hr.rsplit(".", 1)[0]}{data.draw(release_suffixes)}{data.draw(extensions)}' for hr in hr_names}
    sr_names = data.draw(st.permutations(list(sr_of.values())))
    pairs, unmatched = scoring.match_files(sr_names, hr_names)
    assert pairs == sr_of and unmatched == []


@PROPERTY
@given(st.sets(stems, min_size=1, max_size=8), st.one_of(stems, st.text(STEM_CHARS + 'SRX4', max_size=12)))
def test_the_owner_is_the_longest_hr_name_followed_by_a_release_suffix(hr_stems, sr_stem):
    owner = scoring.hr_stem_of(sr_stem, hr_stems)
    candidates = [s for s in hr_stems if sr_stem.startswith(s) and scoring.is_release_suffix(sr_stem[len(s):])]
    if owner is None:
        assert candidates == []
    else:
        assert owner in hr_stems and sr_stem.startswith(owner)
        assert all(len(c) <= len(owner) for c in candidates) and owner in candidates
    assert all(scoring.hr_stem_of(s, hr_stems) == s for s in hr_stems)  # an exact name is always its own


@PROPERTY
@given(stems, st.sampled_from('abSRyz0123456789'), st.text('abSR0123456789_', max_size=5))
def test_a_name_continuing_with_a_letter_or_digit_is_another_image(stem, first, rest):
    assert scoring.hr_stem_of(stem + first + rest, {stem}) is None  # img_001 is not img_0011, baby not baby2


@PROPERTY
@given(stems, release_suffixes, release_suffixes.filter(bool), extensions)
def test_two_sr_images_of_one_hr_image_are_refused_naming_both(stem, suffix, other_suffix, ext):
    first, second = f'{stem}{suffix}{ext}', f'{stem}{other_suffix}.png'
    if first == second:
        return
    with pytest.raises(UserError) as err:
        scoring.match_files([first, second], [f'{stem}.png'])
    assert str(err.value).startswith(f'{min(first, second)} and {max(first, second)} both match HR image {stem}.png')


def test_released_result_names_find_their_image():
    hr = ['baby.png', 'bird.png', 'img_001.png', 'img_0010.png', 'man.png']
    sr = {'baby_x4_SR.png': 'baby.png', 'babyx4_RCAN.png': 'baby.png', 'baby_RCAN_x4.png': 'baby.png',
          'babyx4_Bicubic_x4.png': 'baby.png', 'baby.jpg': 'baby.png', 'baby-EnhanceNet-PAT.png': 'baby.png',
          'baby_0.png': 'baby.png', 'birdX4.png': 'bird.png', 'img_001_x4.png': 'img_001.png',
          'img_0010.png': 'img_0010.png', 'img_0010_SR.png': 'img_0010.png',
          'img_0011.png': None, 'baby2.png': None, 'babyx4SR.png': None, 'manga.png': None, 'Baby_x4.png': None}
    for name, owner in sr.items():
        pairs, unmatched = scoring.match_files([name], hr)
        assert (pairs == {owner: name}) if owner else (unmatched == [name]), name
    with pytest.raises(UserError, match='baby.png and baby.bmp are both HR images named'):
        scoring.match_files(['baby.png'], ['baby.png', 'baby.bmp'])


# --- metrics: one source of truth ---------------------------------------------------------------------------------

def test_every_test_option_file_measures_with_the_metrics_score_outputs_uses():
    default = yaml.safe_load(open(shipped_option_file(score_outputs.DEFAULT_OPTIONS)))
    scale, metrics = scoring.metric_options(shipped_option_file(score_outputs.DEFAULT_OPTIONS), None, pi_available=True)
    assert scale == default['scale'] == 4
    assert metrics == dict(default['val']['metrics'], pi=metrics['pi'])
    assert metrics['pi'] == scoring.pi_options(metrics['niqe']) == {
        'type': 'calculate_pi', 'crop_border': 4, 'better': 'lower'}
    for path in sorted((REPO / 'options' / 'test').rglob('*.yml')):
        text = path.read_text()
        opt = yaml.safe_load(text)
        assert opt['scale'] == scale, path
        shipped = dict(opt['val']['metrics'])
        if path.parent.name == 'realworld':  # images without HR: the no-reference metrics, with the same options
            assert set(shipped) == {'niqe', 'pi'} and all(shipped[k] == metrics[k] for k in shipped), path
            continue
        if path.parent.name == 'authors_protocol':  # the release's scripts: one block of their own, PI included
            authors = scoring.metric_options(path.parent / 'test_Bicubic_x4.yml', None, pi_available=True)[1]
            assert shipped == authors and authors['pi']['crop_border'] == 0, path
            continue
        if 'pi' not in shipped:  # the files keep PI commented out: read that block
            block = re.search(r'^ *# pi:.*\n(?: *# .*\n)+', text, re.M).group(0)
            shipped['pi'] = yaml.safe_load(re.sub(r'^( *)# ', r'\1', block, flags=re.M))['pi']
        assert shipped == metrics, path
    assert scoring.metric_options(shipped_option_file(score_outputs.DEFAULT_OPTIONS), None, pi_available=False)[1] == \
        default['val']['metrics']


# --- the command on small images ----------------------------------------------------------------------------------

def noise(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write(folder, name, img):
    folder.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(folder / name), img)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def validation_block(log_path, dataset):
    """The lines of a log's validation block of ``dataset``, without the time stamp."""
    block = log_path.read_text().split(f' INFO: Validation {dataset}\n')[1].split('\n\n')[0]
    return [f'Validation {dataset}'] + block.splitlines()


def logged(log_path, dataset):
    return dict(re.findall(r'^\t # (\w+): (\S+)', '\n'.join(validation_block(log_path, dataset)), re.M))


def console_to_this_tests_stderr(monkeypatch):
    """Point BasicSR's console handler at the running test's stderr: it is made once per process, maybe in an
    earlier test, whose captured stderr pytest has closed since."""
    import logging
    for handler in logging.getLogger('basicsr').handlers:
        if type(handler) is logging.StreamHandler:
            monkeypatch.setattr(handler, 'stream', sys.stderr)


@pytest.fixture
def folders(tmp_path):
    """HR: a (40×32), b (36×28), c (42×30, not a multiple of 4), d; SR: a exact, b wrong size, c as HR cropped
    to multiples of 4, none for d, one extra SR image of no HR image."""
    hr, sr = tmp_path / 'tiny' / 'HR', tmp_path / 'method'
    images = {'a': noise(32, 40, 0), 'b': noise(28, 36, 1), 'c': noise(30, 42, 2), 'd': noise(16, 16, 3)}
    for stem, img in images.items():
        write(hr, f'{stem}.png', img)
    outputs = {'a_x4_SR.png': np.clip(images['a'].astype(int) + 7, 0, 255).astype(np.uint8),
               'bx4_M.png': noise(24, 36, 4),
               'c_M.png': noise(28, 40, 5),
               'zzz_x4_SR.png': noise(8, 8, 6)}
    for name, img in outputs.items():
        write(sr, name, img)
    return hr, sr, images, outputs


def test_report_partial_scores_and_the_log_collect_results_reads(folders, tmp_path, capsys, monkeypatch):
    hr, sr, images, outputs = folders
    monkeypatch.setattr(scoring, 'get_time_str', lambda: '20260101_120000')  # both runs in one second
    before = {'hr': digest(hr), 'sr': digest(sr)}
    argv = ['--sr', str(sr), '--hr', str(hr), '--name', 'Method', '--metrics', 'psnr', 'rmse',
            '-o', str(tmp_path / 'results')]
    assert run_cli(score_outputs.main, argv) == 1  # b and d could not be scored, a and c were
    logs = list((tmp_path / 'results' / 'Method').glob('test_Method_*.log'))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert 'b.png: SR bx4_M.png is 36×24, HR is 36×28 (cropped to a multiple of 4: 36×28); not scored.' in text
    assert f'd.png: no SR image in {sr}; not scored.' in text
    assert '1 SR image(s) of' in text and 'match no HR image (not scored): zzz_x4_SR.png' in text
    assert ("HR cropped to a multiple of 4 (top-left, as BasicSR's test datasets) to match its SR: "
            'c.png (42×30 → 40×28)') in text

    pairs = [(outputs['a_x4_SR.png'], images['a']), (outputs['c_M.png'], images['c'][:28, :40])]
    expected = {'psnr': sum(calculate_psnr(s, h, 4, test_y_channel=True) for s, h in pairs) / 2,
                'rmse': sum(calculate_rmse(s, h, 4, test_y_channel=True) for s, h in pairs) / 2}
    assert logged(logs[0], 'tiny (2 of 4 images)') == {m: f'{v:.4f}' for m, v in expected.items()}
    assert capsys.readouterr().out.splitlines() == [
        f'tiny (2 of 4 images): psnr {expected["psnr"]:.4f}, rmse {expected["rmse"]:.4f}', f'wrote {logs[0]}']
    assert {'hr': digest(hr), 'sr': digest(sr)} == before  # inputs untouched

    # a second run never replaces the first log; the table takes each dataset from the newest log that has it
    first = logs[0].read_bytes()
    os.utime(logs[0], (1, 1))
    (hr / 'b.png').unlink()
    (hr / 'd.png').unlink()
    assert run_cli(score_outputs.main, argv + ['--dataset', 'Set5']) == 0
    assert logs[0].read_bytes() == first
    assert sorted(p.name for p in (tmp_path / 'results' / 'Method').iterdir()) == [
        'test_Method_20260101_120000.log', 'test_Method_20260101_120000_2.log']
    collected = res.collect_results(tmp_path / 'results')
    assert collected == {'Method': {'tiny (2 of 4 images)': {m: round(v, 4) for m, v in expected.items()},
                                    'Set5': {m: round(v, 4) for m, v in expected.items()}}}


def test_missing_weights_are_one_line_each_and_the_other_metrics_computed(folders, tmp_path, monkeypatch, capsys):
    hr, sr, images, outputs = folders
    score_outputs.get_root_logger()
    console_to_this_tests_stderr(monkeypatch)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'empty_torch_home'))
    monkeypatch.setitem(sys.modules, 'pyiqa', None)  # `import pyiqa` fails, as when it is not installed

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError('no network')

    import torchvision.models._api
    monkeypatch.setattr(torchvision.models._api, 'load_state_dict_from_url', offline)
    lpips_metric.clear_cache(), pi_metric.clear_cache(), unavailable.reset()
    try:
        status = run_cli(score_outputs.main, ['--sr', str(sr), '--hr', str(hr), '--name', 'M', '--metrics', 'psnr',
                                              'lpips', 'pi', '-o', str(tmp_path / 'results')])
    finally:
        lpips_metric.clear_cache(), pi_metric.clear_cache(), unavailable.reset()
    assert status == 1
    log = next((tmp_path / 'results' / 'M').glob('test_M_*.log'))
    values = logged(log, 'tiny (2 of 4 images)')
    assert values['lpips'] == values['pi'] == 'nan' and float(values['psnr']) > 0
    errors = [line for line in log.read_text().splitlines() if ' ERROR: ' in line]
    assert len(errors) == 4  # each cause once, then each metric named as not computed (never a best)
    assert 'calculate_lpips: cannot build' in errors[0] and lpips_metric.ALEXNET_FILE in errors[0]
    assert 'pip install -e .[pi]' in errors[1]
    assert [e.split(' ERROR: ')[1].split(' (it could')[0] for e in errors[2:]] == [
        'tiny (2 of 4 images): lpips is nan', 'tiny (2 of 4 images): pi is nan']
    err = capsys.readouterr().err
    assert 'Traceback' not in err + log.read_text()
    assert [line for line in err.splitlines() if ' ERROR: ' in line] == errors


@pytest.mark.parametrize('case, message', [
    ('no_sr_folder', '--sr {sr}/absent: no such folder.'),
    ('empty_sr_folder', '--sr {tmp}/empty: no images'),
    ('no_match', '--sr {tmp}/other: none of its 1 images matches an HR image of {hr}'),
    ('ambiguous', '--sr {sr}: a_x4_SR.png and a_y.png both match HR image a.png; keep one of them'),
    ('unknown_metric', '--metrics: psnrr not in '),
    ('bad_name', "--name 'a/b': expected letters"),
    ('test_py_results', '{tmp}/results/Method holds a test.py result (test_Method_1.log); choose another --name.'),
    ('nothing_scorable', '--sr {tmp}/wrong: no image could be scored against {hr} (see above).'),
])
def test_unusable_input_is_one_line_and_exit_2_with_nothing_written(folders, tmp_path, capsys, case, message):
    hr, sr, _, _ = folders
    argv = {'--sr': str(sr), '--hr': str(hr), '--name': 'Method', '-o': str(tmp_path / 'results')}
    extra = []
    if case == 'no_sr_folder':
        argv['--sr'] = str(sr / 'absent')
    elif case == 'empty_sr_folder':
        (tmp_path / 'empty').mkdir()
        argv['--sr'] = str(tmp_path / 'empty')
    elif case == 'no_match':
        write(tmp_path / 'other', 'zebra.png', noise(8, 8, 0))
        argv['--sr'] = str(tmp_path / 'other')
    elif case == 'ambiguous':
        write(sr, 'a_y.png', noise(32, 40, 0))
    elif case == 'unknown_metric':
        extra = ['--metrics', 'psnr', 'psnrr']
    elif case == 'bad_name':
        argv['--name'] = 'a/b'
    elif case == 'test_py_results':
        (tmp_path / 'results' / 'Method').mkdir(parents=True)
        (tmp_path / 'results' / 'Method' / 'test_Method_1.log').write_text('2026-01-01 INFO: \nVersion Information\n')
    elif case == 'nothing_scorable':
        write(tmp_path / 'wrong', 'a.png', noise(8, 8, 0))
        argv['--sr'] = str(tmp_path / 'wrong')
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob('*'))
    status = run_cli(score_outputs.main, [x for kv in argv.items() for x in kv] + extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith('error: ' + message.format(sr=sr, hr=hr, tmp=tmp_path)), err
    assert len(err) == (5 if case == 'nothing_scorable' else 1), err  # there: a.png's size; b, c, d have no SR
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob('*')) == before


# --- Bicubic on Set5: test.py's numbers, exactly ------------------------------------------------------------------

@pytest.fixture(scope='module')
def set5_runs(tmp_path_factory):
    """test.py with the shipped Bicubic option file on Set5, then score_outputs.py on the SR images it saved."""
    if not (SET5 / 'HR').is_dir():
        pytest.skip(f'{SET5} (shared reference data) is absent')
    from torchvision.models import alexnet
    root = tmp_path_factory.mktemp('set5')
    write_stand_in_weights(root / 'torch_home', alexnet, lpips_metric.ALEXNET_FILE, std=0.05)
    opt = yaml.safe_load((REPO / 'options' / 'test' / 'baseline' / 'test_Bicubic_x4.yml').read_text())
    opt['datasets'] = {'test_1': dict(opt['datasets']['test_1'], dataroot_gt=str(SET5 / 'HR'),
                                      dataroot_lq=str(SET5 / 'LR_bicubic' / 'X4'))}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('TORCH_HOME', str(root / 'torch_home'))
        run_entry('test.py', opt, root, opt_name='bicubic.yml')
    sr_dir = root / 'results' / 'Bicubic_x4' / 'visualization' / 'Set5'
    command = [sys.executable, *CLI, '--sr', str(sr_dir), '--hr', str(SET5 / 'HR'), '--name', 'Bicubic_released',
               '-o', str(root / 'results')]
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, TORCH_HOME=str(root / 'torch_home'), OMP_NUM_THREADS='2'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, proc


def test_bicubic_set5_images_score_exactly_as_test_py(set5_runs):
    root, proc = set5_runs
    test_py = logged(next((root / 'results' / 'Bicubic_x4').glob('test_Bicubic_x4_*.log')), 'Set5')
    ours_log = next((root / 'results' / 'Bicubic_released').glob('test_Bicubic_released_*.log'))
    ours = logged(ours_log, 'Set5')
    assert list(ours) == list(test_py) == ['psnr', 'ssim', 'lpips', 'niqe', 'rmse']
    test_py_block = validation_block(next((root / 'results' / 'Bicubic_x4').glob('test_Bicubic_x4_*.log')), 'Set5')
    assert validation_block(ours_log, 'Set5') == [line.replace('@ Bicubic_x4 iter', '@ Bicubic_released iter')
                                                  for line in test_py_block]  # the same text, "Best" part included
    for metric in test_py:
        assert float(ours[metric]) == float(test_py[metric]), metric
    assert ours['psnr'] == '28.4305' and ours['ssim'] == '0.8113' and 0 < float(ours['lpips']) < 1
    assert proc.stdout.splitlines()[0] == 'Set5: ' + ', '.join(f'{m} {v}' for m, v in ours.items())
    assert 'PI not computed: it needs pyiqa' in ours_log.read_text()
    for stem in ('baby', 'bird', 'butterfly', 'head', 'woman'):
        assert f'INFO: {stem}.png <- {stem}x4_Bicubic_x4.png: psnr ' in ours_log.read_text()


def test_collect_results_puts_scored_outputs_beside_test_py_runs(set5_runs, capsys):
    root, _ = set5_runs
    out = root / 'tables'
    assert collect_results.main(['--results', str(root / 'results'), '-o', str(out)]) == 0
    with open(out / 'table.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['dataset', 'metric', 'Bicubic', 'Bicubic_released']
    assert [r[:2] for r in rows[1:]] == [['Set5', m] for m in ('psnr', 'ssim', 'lpips', 'niqe', 'rmse')]
    assert all(r[2] == r[3] for r in rows[1:]) and rows[1][2] == '28.4305'
    assert (out / 'tradeoff_Set5.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert '| Set5 | PSNR ↑ | 28.43 | **28.43** |' in capsys.readouterr().out.splitlines()  # a tie: one in bold
