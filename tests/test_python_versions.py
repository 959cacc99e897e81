"""What differs between Python versions: every module imports, and tools/install_basicsr.py's fix of
basicsr 1.4.2's version lookup (the reason its sdist does not build on Python >= 3.13)."""
import hashlib
import importlib
import importlib.util
import io
import pkgutil
import sys
import tarfile
from pathlib import Path

import pytest

import fasrgan_basicsr

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / 'tools'
spec = importlib.util.spec_from_file_location('install_basicsr', TOOLS / 'install_basicsr.py')
install_basicsr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_basicsr)

# The shape of basicsr 1.4.2's version lookup (its setup.py, lines 75-79), as test data.
SETUP_PY = """version_file = 'basicsr/version.py'


def get_version():
    with open(version_file, 'r') as f:
        exec(compile(f.read(), version_file, 'exec'))
    return locals()['__version__']
"""


def test_every_module_imports():
    # Python 3.12/3.13 removed stdlib modules (distutils, imghdr, ...): any module still using one fails here
    names = [m.name for m in pkgutil.walk_packages(fasrgan_basicsr.__path__, 'fasrgan_basicsr.')]
    assert {'fasrgan_basicsr.train', 'fasrgan_basicsr.cli.inference', 'fasrgan_basicsr.datasets_prep.prepare_div2k'} \
        <= set(names)
    for name in names:
        importlib.import_module(name)


def _source(tmp_path, setup_text=SETUP_PY):
    source = tmp_path / 'basicsr-1.4.2'
    (source / 'basicsr').mkdir(parents=True)
    (source / 'basicsr' / 'version.py').write_text("__version__ = '1.4.2'\n")
    (source / 'setup.py').write_text(setup_text)
    return source


def _get_version(source, monkeypatch):
    monkeypatch.chdir(source)
    namespace = {}
    exec(compile((source / 'setup.py').read_text(), 'setup.py', 'exec'), namespace)
    return namespace['get_version']()


def test_published_lookup_fails_exactly_from_python_3_13(tmp_path, monkeypatch):
    source = _source(tmp_path)
    if sys.version_info >= (3, 13):
        with pytest.raises(KeyError, match='__version__'):
            _get_version(source, monkeypatch)
    else:
        assert _get_version(source, monkeypatch) == '1.4.2'


def test_fix_changes_the_two_lookup_lines_only_and_works(tmp_path, monkeypatch):
    source = _source(tmp_path)
    monkeypatch.setattr(install_basicsr, 'SETUP_PY_SHA256', hashlib.sha256(SETUP_PY.encode()).hexdigest())
    install_basicsr.fix_version_lookup(source)
    before, after = SETUP_PY.splitlines(), (source / 'setup.py').read_text().splitlines()
    assert len(before) == len(after)
    assert [i for i, (b, a) in enumerate(zip(before, after)) if b != a] == [5, 6]
    assert _get_version(source, monkeypatch) == '1.4.2'


def test_fix_refuses_any_other_setup_py_and_leaves_it_untouched(tmp_path):
    text = SETUP_PY.replace("'r'", "'rt'")
    source = _source(tmp_path, text)
    with pytest.raises(install_basicsr.InstallError, match='SHA-256'):
        install_basicsr.fix_version_lookup(source)
    assert (source / 'setup.py').read_text() == text


def _fake_sdist(folder, version='1.4.2'):
    folder.mkdir(parents=True)
    (folder / 'PKG-INFO').write_text(f'Metadata-Version: 2.1\nName: basicsr\nVersion: {version}\n')
    (folder / 'setup.py').write_text(SETUP_PY)
    return folder


def test_fetch_finds_the_sdist_pip_kept_after_its_metadata_step_failed(tmp_path, monkeypatch):
    def pip(*args, env=None):  # as pip on Python 3.13: unpacks into TMPDIR, kept by --no-clean, then fails
        assert '--no-clean' in args and args[-1] == 'basicsr==1.4.2'
        _fake_sdist(Path(env['TMPDIR']) / 'pip-download-x' / 'basicsr_0123')
        _fake_sdist(Path(env['TMPDIR']) / 'pip-download-y' / 'basicsr_4567', version='1.4.1')
        return 1, "KeyError: '__version__'"

    monkeypatch.setattr(install_basicsr, 'pip', pip)
    found = install_basicsr.fetch_sdist(tmp_path)
    assert found == tmp_path / 'tmp' / 'pip-download-x' / 'basicsr_0123'


def test_fetch_takes_the_saved_archive_and_reports_pip_when_nothing_came(tmp_path, monkeypatch):
    def saves_archive(*args, env=None):  # as pip on Python <= 3.12, where the metadata step works
        saved = Path(args[args.index('-d') + 1])
        saved.mkdir()
        with tarfile.open(saved / 'basicsr-1.4.2.tar.gz', 'w:gz') as tar:
            for name, text in (('PKG-INFO', 'Name: basicsr\nVersion: 1.4.2\n'), ('setup.py', SETUP_PY)):
                info = tarfile.TarInfo(f'basicsr-1.4.2/{name}')
                info.size = len(text.encode())
                tar.addfile(info, io.BytesIO(text.encode()))
        return 0, 'Saved'

    monkeypatch.setattr(install_basicsr, 'pip', saves_archive)
    (tmp_path / 'a').mkdir()
    found = install_basicsr.fetch_sdist(tmp_path / 'a')
    assert (found / 'setup.py').read_text() == SETUP_PY

    monkeypatch.setattr(install_basicsr, 'pip', lambda *args, env=None: (1, 'No matching distribution found'))
    (tmp_path / 'b').mkdir()
    with pytest.raises(install_basicsr.InstallError, match='exit code 1.*\n.*No matching distribution found'):
        install_basicsr.fetch_sdist(tmp_path / 'b')
