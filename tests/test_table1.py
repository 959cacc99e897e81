"""Table I: the published values file against the paper's text, and fasrgan-table1 on the results of tiny runs of the
real test.py with options/test/authors_protocol/ (the authors' released weights, in this suite's reconstruction)."""
import csv
import importlib.util
import re

import pytest
import yaml
from conftest import REPO, SHARED, paired_dataset, run_entry
from release_modules import ReleaseModelEx, ReleaseRRDBNet, randomised, save_bare
from test_metrics import stand_in_alexnet  # noqa: F401  (fixture)

from fasrgan_basicsr.cli import join_fs
from fasrgan_basicsr.cli import table1 as table1_cli
from fasrgan_basicsr.evaluation import results as res
from fasrgan_basicsr.evaluation import table1
from fasrgan_basicsr.utils.cli import run_cli

PAPER = SHARED / 'paper' / 'FASRGAN_FsSRGAN_paper.txt'
PROTOCOL = REPO / 'options' / 'test' / 'authors_protocol'
DATA = yaml.safe_load(open(table1.PUBLISHED_FILE, encoding='utf-8'))
TEXT_NAMES = {'Set5': 'Set5', 'Urban100': 'Urban100', 'BSD100': 'BSD100', 'DIV2K val': 'DIV2K_val',
              'PIRM val': 'PIRM_val'}


# ------------------------------------------------------------------------------------------ the published values
def test_the_published_values_are_the_papers_text_as_printed():
    if not PAPER.is_file():
        pytest.skip(f'{PAPER} (the paper\'s text) is absent')
    lines = PAPER.read_text(encoding='utf-8').splitlines()
    assert lines[145].startswith('Quantitative results with the Bicubic degradation model for $4\\times$ SR')
    rows, dataset, pending = {}, None, {}
    for line in lines[125:145]:  # lines 126–145: PSNR, SSIM, "<dataset> PI", LPIPS per dataset
        match = re.fullmatch(r'(?:(Set5|Urban100|BSD100|DIV2K val|PIRM val) )?(PSNR|SSIM|PI|LPIPS)((?: [\d.]+){7})',
                             line)
        assert match, line
        pending[match.group(2).lower()] = [float(v) for v in match.group(3).split()]
        dataset = TEXT_NAMES[match.group(1)] if match.group(1) else dataset
        if match.group(2) == 'LPIPS':
            rows[dataset], pending = pending, {}
    assert rows == DATA['rows']
    assert list(rows) == list(table1.TABLE_DATASETS)


def test_each_attributed_column_is_the_only_one_its_claim_fits():
    """The claims of Sec. IV-C that identify the columns (published_table1.yml, ``evidence``)."""
    rows, n = DATA['rows'], 7
    sets = list(rows)

    def best(metric, dataset, higher):
        values = rows[dataset][metric]
        return values.index(max(values) if higher else min(values))

    lpips_best = [sum(best('lpips', d, False) == c for d in sets) for c in range(n)]
    assert lpips_best.index(max(lpips_best)) == 4 and lpips_best[4] == 4  # FASRGAN: best LPIPS on most sets
    ssim_best = [sum(best('ssim', d, True) == c for d in sets) for c in range(n)]
    assert ssim_best.index(max(ssim_best)) == 5 and ssim_best[5] == 3  # Fs-SRGAN: best SSIM
    fits = [c for c in range(n) if all(best('psnr', d, True) == c for d in sets if d != 'Set5')
            and best('psnr', 'Set5', True) != c]
    assert fits == [6]  # FA+Fs-SRGAN: highest PSNR except for Set5
    worse = [c for c in range(4) if all(rows[d][m][c] > rows[d][m][4] for d in sets for m in ('lpips', 'pi'))]
    assert worse == [2]  # ESRGAN: FASRGAN's LPIPS and PI are better than ESRGAN's
    assert DATA['columns'] == [None, None, 'ESRGAN', None, 'FASRGAN', 'Fs-SRGAN', 'FA+Fs-SRGAN']
    published, source = table1.load_published()
    assert set(published) == set(table1.METHODS) and source['page'] is None
    assert published['FASRGAN']['Set5'] == {'psnr': 30.15, 'ssim': 0.845, 'pi': 3.1685, 'lpips': 0.0325}
    assert published['ESRGAN']['PIRM_val']['lpips'] == 0.0714


# ------------------------------------------------------------------------------------------ from tiny runs
TINY_NETS = {'FASRGAN': dict(num_feat=8, num_block=1, num_grow_ch=4), 'ESRGAN': dict(num_feat=8, num_block=1,
                                                                                     num_grow_ch=4),
             'FsSRGAN': dict(num_feat=8, num_shared_block=1, num_block=1, num_grow_ch=4)}


@pytest.fixture(scope='module')
def tiny_results(tmp_path_factory, tiny_data):
    """A root whose results/ holds the release-weights runs of FASRGAN, Fs-SRGAN and ESRGAN (not FA+Fs-SRGAN) on two
    tiny sets named Set5 and Urban100, written by the real test.py from the shipped authors_protocol files."""
    root = tmp_path_factory.mktemp('table1')
    weights = root / 'experiments' / 'pretrained_models' / 'release'
    weights.mkdir(parents=True)
    save_bare(randomised(ReleaseRRDBNet(nf=8, nb=1, gc=4), 0), weights / 'FASRGAN_G.pth')
    save_bare(randomised(ReleaseRRDBNet(nf=8, nb=1, gc=4), 1), weights / 'RRDB_ESRGAN_x4.pth')
    e = save_bare(randomised(ReleaseModelEx(nf=8, nb=1, gc=4), 2), root / 'FsSRGAN_E.pth')
    g = save_bare(randomised(ReleaseRRDBNet(in_nc=8, nf=8, nb=1, gc=4), 3), root / 'FsSRGAN_G.pth')
    assert run_cli(join_fs.main, ['--extractor', str(e), '--generator', str(g), '-o',
                                  str(weights / 'FsSRGAN_joined.pth')]) == 0
    return root


def run_release_weights(root, model, tiny_data):
    opt = yaml.safe_load((PROTOCOL / f'test_{model}_x4_release_weights.yml').read_text())
    opt['num_gpu'] = 0
    opt['network_g'].update(TINY_NETS[model])
    opt['datasets'] = {f'test_{i}': paired_dataset(name, tiny_data['val_gt'], tiny_data['val_lq'])
                       for i, name in enumerate(('Set5', 'Urban100'), 1)}
    del opt['val']['metrics']['niqe']  # NIQE needs 96-pixel blocks: more than the tiny image has
    if importlib.util.find_spec('pyiqa') is not None:
        del opt['val']['metrics']['pi']  # (PI's NIQE too)
    run_entry('test.py', opt, root, opt_name=f'{model}.yml')
    return opt['name']


@pytest.mark.subprocess
def test_table1_from_tiny_runs_with_the_published_column_filled(tiny_results, tiny_data, stand_in_alexnet,  # noqa: F811
                                                                capsys):
    folders = {model: run_release_weights(tiny_results, model, tiny_data) for model in TINY_NETS}
    results = tiny_results / 'results'
    out = tiny_results / 'table'
    code = run_cli(table1_cli.main, ['--results', str(results), '-o', str(out), '--run',
                                     f'mine={folders["FASRGAN"]}', f'mine as ESRGAN={folders["FASRGAN"]}=ESRGAN'])
    assert code == 0
    capsys.readouterr()
    measured = res.collect_results(results)
    published, _ = table1.load_published()
    with open(out / 'table1.csv', newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    assert [(r['method'], r['results']) for r in rows] == [
        ('FASRGAN', 'FASRGAN_x4_release_weights_authors_protocol'),
        ('Fs-SRGAN', 'FsSRGAN_x4_release_weights_authors_protocol'),
        ('FA+Fs-SRGAN', 'FAFsSRGAN_x4_release_weights_authors_protocol'),
        ('ESRGAN', 'ESRGAN_x4_release_weights_authors_protocol'),
        ('mine', 'FASRGAN_x4_release_weights_authors_protocol'),
        ('mine as ESRGAN', 'FASRGAN_x4_release_weights_authors_protocol')]
    for row, method in zip(rows, ['FASRGAN', 'Fs-SRGAN', 'FA+Fs-SRGAN', 'ESRGAN', None, 'ESRGAN']):
        for dataset in table1.TABLE_DATASETS:
            for metric in table1.TABLE_METRICS:
                name = f'{dataset} {res.METRIC_NAMES[metric]}'
                want = published[method][dataset][metric] if method else None
                assert row[f'{name} published'] == ('' if want is None else repr(want))
                got = measured.get(row['results'], {}).get(dataset, {}).get(metric)
                assert row[f'{name} measured'] == ('' if got is None else repr(got))
                if got is not None and want is not None and got == got:  # finite: the difference
                    assert float(row[f'{name} difference']) == got - want
                else:
                    assert row[f'{name} difference'] == ''
    fasrgan = measured['FASRGAN_x4_release_weights_authors_protocol']
    assert set(fasrgan) == {'Set5', 'Urban100'} and 0 < fasrgan['Set5']['psnr'] < 60
    assert 'rmse_dataset' in fasrgan['Set5'] and 0 < fasrgan['Set5']['lpips'] < 1

    markdown = (out / 'table1.md').read_text()
    head, line = markdown.splitlines()[0], markdown.splitlines()[2]
    assert head.startswith('| Method | Set5 PSNR ↑ | Set5 SSIM ↑ | Set5 PI ↓ | Set5 LPIPS ↓ | Urban100 PSNR ↑')
    psnr = fasrgan['Set5']['psnr']
    assert line.startswith(f'| FASRGAN | {psnr:.2f} / 30.15 ({psnr - 30.15:+.2f}) | ')
    assert '| – / 24.39 |' not in markdown and '– / 25.41' in line  # BSD100: no results there, published shown
    assert '- FA+Fs-SRGAN: no results in `FAFsSRGAN_x4_release_weights_authors_protocol`' in markdown
    assert '- mine: no published row (not a method of Table I).' in markdown


def test_table1_refuses_what_it_cannot_show(tiny_results, tmp_path, capsys):
    empty = tmp_path / 'results'
    empty.mkdir()
    assert run_cli(table1_cli.main, ['--results', str(empty), '-o', str(tmp_path / 't')]) == 2
    assert 'no test logs' in capsys.readouterr().err
    assert run_cli(table1_cli.main, ['--results', str(tmp_path / 'nothing'), '-o', str(tmp_path / 't')]) == 2
    assert 'no such folder' in capsys.readouterr().err
    for bad, says in (('x', "expected LABEL=FOLDER"), ('a=b=SRGAN', "'SRGAN' is not a method of Table I")):
        assert run_cli(table1_cli.main, ['--results', str(empty), '-o', str(tmp_path / 't'), '--run', bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0]
    assert not (tmp_path / 't').exists()
