"""The built wheel is the product: built from this checkout, installed into a scratch venv, and used from an empty
folder through its console commands, as someone who ran ``pip install fasrgan_basicsr`` would.

Offline: the scratch venv gets this test venv's packages (torch, basicsr, ...) through one ``.pth`` line, and the
wheel is installed with ``--no-deps``; its own ``fasrgan_basicsr`` comes first on the path (checked). A ``.pth``
line adds a folder without running that folder's own ``.pth`` files, so this checkout's editable install does not
leak in.
"""
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import srmodel_test_options, tiny_options

REPO = Path(__file__).resolve().parents[1]
#: what a copy of the checkout leaves out (outputs and environments of whoever runs the tests)
NOT_SOURCES = ('.git', '.venv*', 'experiments', 'results', 'datasets', 'tb_logger', 'build', 'dist', 'site',
               '*.egg-info', '__pycache__', '.pytest_cache')

pytestmark = pytest.mark.subprocess


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'FASRGAN_ROOT', 'VIRTUAL_ENV')}
    return dict(env, **extra)


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """``(the wheel's path, the scratch venv's bin folder, its site-packages)``."""
    work = tmp_path_factory.mktemp('wheel')
    source = work / 'source'
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index', '-q',
                    '-w', str(work / 'dist'), str(source)], check=True, capture_output=True, env=clean_env())
    built = next((work / 'dist').glob('fasrgan_basicsr-*.whl'))
    scratch = work / 'venv'
    venv.create(scratch, with_pip=False)
    python = scratch / 'bin' / 'python'
    purelib = Path(subprocess.run([str(python), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / 'test_venv_packages.pth').write_text('\n'.join(site.getsitepackages()) + '\n')
    subprocess.run([sys.executable, '-m', 'pip', '--python', str(python), 'install', '--no-deps', '--no-index', '-q',
                    str(built)], check=True, capture_output=True, env=clean_env())
    return built, scratch / 'bin', purelib


def run(bin_dir, command, *args, cwd, check=True):
    proc = subprocess.run([str(bin_dir / command), *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env=clean_env(PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}', OMP_NUM_THREADS='1'))
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def test_the_wheel_carries_the_package_its_option_files_and_its_metadata(wheel):
    built, _, _ = wheel
    names = zipfile.ZipFile(built).namelist()
    tops = {name.split('/')[0] for name in names}
    assert tops == {'fasrgan_basicsr', built.name.split('-')[0] + '-' + built.name.split('-')[1] + '.dist-info'}
    shipped = sorted(p.relative_to(REPO / 'options').as_posix() for p in (REPO / 'options').rglob('*.yml'))
    assert sorted(n[len('fasrgan_basicsr/options/'):] for n in names
                  if n.startswith('fasrgan_basicsr/options/') and n.endswith('.yml')) == shipped
    assert 'fasrgan_basicsr/options/options.schema.json' in names
    assert 'fasrgan_basicsr/evaluation/published_table1.yml' in names
    assert 'fasrgan_basicsr/datasets_prep/prepare_div2k.py' in names  # the library; the scripts are commands
    info = next(n for n in names if n.endswith('.dist-info/METADATA'))
    metadata = zipfile.ZipFile(built).read(info).decode()
    for field in ('Name: fasrgan_basicsr', 'License-File: LICENSE', 'Requires-Python: >=3.11', 'Project-URL: ',
                  'Author: ', 'Classifier: Programming Language :: Python :: 3.13', 'Requires-Dist: basicsr==1.4.2'):
        assert field in metadata, field
    assert any(n.endswith('.dist-info/licenses/LICENSE') or n.endswith('.dist-info/LICENSE') for n in names)
    entry_points = zipfile.ZipFile(built).read(next(n for n in names if n.endswith('entry_points.txt'))).decode()
    for command in ('fasrgan-train', 'fasrgan-test', 'fasrgan-infer', 'fasrgan-prepare-div2k', 'fasrgan-options'):
        assert f'{command} = ' in entry_points


def test_from_an_empty_folder_the_installed_commands_train_and_test_with_outputs_under_it(wheel, tiny_data,
                                                                                           tmp_path):
    _, bin_dir, purelib = wheel
    empty = tmp_path / 'empty'
    empty.mkdir()
    where = run(bin_dir, 'python', '-c', 'import fasrgan_basicsr; print(fasrgan_basicsr.__file__)', cwd=empty)
    assert where.stdout.strip() == str(purelib / 'fasrgan_basicsr' / '__init__.py')
    # the option files: listed, copied out to edit, never replaced
    listed = run(bin_dir, 'fasrgan-options', 'list', cwd=empty).stdout
    assert 'train_FASRGAN_x4.yml' in listed and 'demo/train_FASRGAN_demo.yml' in listed
    run(bin_dir, 'fasrgan-options', 'copy', 'train_FASRGAN_x4.yml', cwd=empty)
    copied = empty / 'train_FASRGAN_x4.yml'
    assert copied.read_bytes() == (REPO / 'options' / 'train_FASRGAN_x4.yml').read_bytes()
    again = run(bin_dir, 'fasrgan-options', 'copy', 'train_FASRGAN_x4.yml', cwd=empty, check=False)
    assert again.returncode != 0 and 'train_FASRGAN_x4.yml' in again.stderr and 'Traceback' not in again.stderr
    copied.unlink()
    # a tiny training, then a test of its generator, through the console commands
    opt = tiny_options(tiny_data, name='wheel_run', total_iter=2)
    (empty / 'train.yml').write_text(yaml.safe_dump(opt))
    run(bin_dir, 'fasrgan-train', '-opt', 'train.yml', cwd=empty)
    models = empty / 'experiments' / 'wheel_run' / 'models'
    assert (models / 'net_g_2.pth').is_file()
    test = srmodel_test_options(tiny_data, 'wheel_run_test', opt['network_g'],
                                'experiments/wheel_run/models/net_g_latest.pth')
    (empty / 'test.yml').write_text(yaml.safe_dump(test))
    run(bin_dir, 'fasrgan-test', '-opt', 'test.yml', cwd=empty)
    assert list((empty / 'results' / 'wheel_run_test').glob('test_*.log'))
    # python -m works as the commands do; nothing was written into the installed package
    assert 'usage' in run(bin_dir, 'python', '-m', 'fasrgan_basicsr.train', '--help', cwd=empty).stdout.lower()
    for folder in ('experiments', 'results', 'tb_logger', 'datasets'):
        assert not (purelib / folder).exists() and not (purelib / 'fasrgan_basicsr' / folder).exists()
    # a prep command from the wheel, on a folder that is not there: one line, exit 2
    missing = run(bin_dir, 'fasrgan-prepare-div2k', '--input', 'nowhere', cwd=empty, check=False)
    assert missing.returncode == 2 and 'nowhere' in missing.stderr and 'Traceback' not in missing.stderr
