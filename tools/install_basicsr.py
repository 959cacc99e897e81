"""Install BasicSR 1.4.2 from its own sdist, with its setup.py's version lookup fixed for Python >= 3.13.

    python tools/install_basicsr.py        # with the Python (venv) that will run fasrgan_basicsr

BasicSR 1.4.2 is published as an sdist only. Its ``setup.py`` reads its version with

    exec(compile(f.read(), version_file, 'exec'))
    return locals()['__version__']

which Python 3.13 breaks: ``exec`` no longer writes into a function's ``locals()`` (PEP 667), so every
``pip install basicsr==1.4.2`` on 3.13 stops with ``KeyError: '__version__'`` before BasicSR's code is
even looked at. This script

1. asks pip for basicsr 1.4.2's sdist from the package index (pip checks the index's hash); pip cannot
   save an sdist whose metadata fails to build, so ``--no-clean`` keeps the unpacked sdist in a
   private temporary folder, where the script picks it up;
2. checks that ``setup.py`` is byte for byte the published one (SHA-256 below), then changes exactly
   the two lines above to the form CPython's documentation recommends (an explicit namespace):

    exec(compile(f.read(), version_file, 'exec'), namespace := {})
    return namespace['__version__']

3. builds the wheel with ``pip wheel --no-build-isolation`` (pure Python, ``py3-none-any``: BasicSR's
   CUDA extensions are only compiled when ``BASICSR_EXT=True``; without build isolation pip does not
   install torch a second time into a build environment for BasicSR's ``setup_requires``);
4. installs that wheel with pip, which also installs BasicSR's declared requirements.

BasicSR's library code is not touched: the wheel holds the same files as the one pip builds from the
unpatched sdist on Python 3.11/3.12 (``basicsr/version.py`` differs by its build time stamp only). It works
on every Python this project supports, so ``make install`` uses it everywhere. Afterwards
``pip install -e .`` finds ``basicsr==1.4.2`` installed and builds nothing.
"""
import argparse
import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = '1.4.2'
SETUP_PY_SHA256 = 'f986ec14a7a527ddcff89a1d7c86abbd45bbcb7748d7229bb75b559b4747f97e'  # basicsr-1.4.2.tar.gz's
VERSION_LOOKUP = (
    "        exec(compile(f.read(), version_file, 'exec'))\n"
    "    return locals()['__version__']\n",
    "        exec(compile(f.read(), version_file, 'exec'), namespace := {})\n"
    "    return namespace['__version__']\n",
)


class InstallError(Exception):
    """A step failed; the message says which and what pip printed."""


def pip(*args, env=None):
    """Run this interpreter's pip; return its exit code and its output (stdout and stderr together)."""
    done = subprocess.run([sys.executable, '-m', 'pip', *args], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    return done.returncode, done.stdout


def installed_version():
    try:
        return importlib.metadata.version('basicsr')
    except importlib.metadata.PackageNotFoundError:
        return None


def fetch_sdist(work):
    """Return the folder of basicsr's unpacked sdist, fetched by pip into ``work``."""
    tmp, saved = work / 'tmp', work / 'saved'
    tmp.mkdir()
    # On Python >= 3.13 the metadata step fails (that is the bug being fixed) and pip exits non-zero;
    # the sdist it unpacked stays in TMPDIR because of --no-clean. On older Pythons pip also saves the
    # archive. Either way the source is looked for below, and pip's output is shown only if none is found.
    code, output = pip('download', '--no-clean', '--no-deps', '--no-build-isolation', '--no-binary', 'basicsr',
                       '-d', str(saved), f'basicsr=={VERSION}', env={**os.environ, 'TMPDIR': str(tmp)})
    for archive in saved.glob(f'basicsr-{VERSION}.tar.gz'):
        with tarfile.open(archive) as tar:
            tar.extractall(tmp / 'extracted', **({'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}))
    for info in sorted(tmp.rglob('PKG-INFO')):
        lines = info.read_text(encoding='utf-8', errors='replace').splitlines()
        if {'Name: basicsr', f'Version: {VERSION}'} <= set(lines) and (info.parent / 'setup.py').is_file():
            return info.parent
    raise InstallError(f'pip did not fetch the sdist of basicsr {VERSION} (exit code {code}):\n{output}')


def fix_version_lookup(source):
    """Patch ``source/setup.py``'s two version-lookup lines; refuse any setup.py but the published one."""
    setup_py = source / 'setup.py'
    text = setup_py.read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    if digest != SETUP_PY_SHA256:
        raise InstallError(f'{setup_py}: SHA-256 {digest}, expected {SETUP_PY_SHA256} '
                           f'(the setup.py of basicsr {VERSION} as published); not patching an unknown file')
    old, new = VERSION_LOOKUP
    setup_py.write_text(text.decode('utf-8').replace(old, new), encoding='utf-8')


def build_wheel(source, wheel_dir):
    code, output = pip('wheel', '--no-deps', '--no-build-isolation', '-w', str(wheel_dir), str(source))
    wheels = sorted(wheel_dir.glob(f'basicsr-{VERSION}-py3-none-any.whl'))
    if code or not wheels:
        raise InstallError(f'building the basicsr {VERSION} wheel failed (exit code {code}):\n{output}')
    return wheels[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.parse_args(argv)
    if installed_version() == VERSION:
        print(f'basicsr {VERSION} is already installed for {sys.executable}')
        return 0
    try:
        # setuptools >= 70.1 builds wheels by itself (no 'wheel' package); a fresh 3.13 venv has none
        code, output = pip('install', '-q', 'setuptools>=70.1')
        if code:
            raise InstallError(f'installing setuptools failed:\n{output}')
        with tempfile.TemporaryDirectory(prefix='basicsr-sdist-') as work:
            work = Path(work)
            source = fetch_sdist(work)
            fix_version_lookup(source)
            wheel = build_wheel(source, work / 'wheel')
            print(f'built {wheel.name} from the basicsr {VERSION} sdist (version lookup fixed); installing it')
            code = subprocess.call([sys.executable, '-m', 'pip', 'install', '-q', str(wheel)])
            if code:
                raise InstallError(f'pip could not install {wheel.name} (exit code {code})')
    except InstallError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'basicsr {installed_version()} installed for {sys.executable}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
