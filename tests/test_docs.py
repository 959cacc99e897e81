"""The documentation site builds strictly, every page is in the navigation, and a broken link fails the build.

``mkdocs build --strict`` (what ``make docs`` runs) fails on any warning: a link to a missing page or anchor, a page
outside the navigation, a docstring mkdocstrings cannot read. The build tests are skipped, saying so, when MkDocs, its
Material theme or mkdocstrings is not installed (``pip install -e '.[docs]'``); the navigation tests need only PyYAML.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'mkdocs.yml'
DOCS = REPO / 'docs'


def nav_pages(nav):
    """The ``.md`` paths of a nav (nested lists of ``{title: page or [entries]}`` or bare paths), in order."""
    pages = []
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def config():
    return yaml.safe_load(CONFIG.read_text(encoding='utf-8'))


def need_mkdocs():
    for module in ('mkdocs', 'material', 'mkdocstrings', 'mkdocstrings_handlers.python'):
        pytest.importorskip(module, reason=f'{module} is not installed (pip install -e ".[docs]"); site not built')


def build(config_file, site_dir):
    """``mkdocs build --strict``: ``(exit status, its log)``."""
    result = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '-f', str(config_file),
                             '--site-dir', str(site_dir)], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'}, timeout=600)
    return result.returncode, result.stdout + result.stderr


def test_every_docs_page_is_in_the_nav_and_every_nav_entry_exists():
    pages = nav_pages(config()['nav'])
    assert len(pages) == len(set(pages)), 'a page is twice in the nav'
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob('*.md')}
    assert on_disk - set(pages) == set(), 'pages outside the nav (orphans)'
    assert set(pages) - on_disk == set(), 'nav entries without a page'


def test_site_builds_strictly_with_every_nav_page(tmp_path):
    need_mkdocs()
    status, log = build(CONFIG, tmp_path / 'site')
    assert status == 0, log
    assert 'WARNING' not in log, log
    for page in nav_pages(config()['nav']):
        assert (tmp_path / 'site' / page).with_suffix('.html').is_file(), f'{page} was not built'
    assert 'FASRGANModel' in (tmp_path / 'site' / 'api' / 'models.html').read_text(encoding='utf-8')


@pytest.mark.parametrize('link, complaint', [('no_such_page.md', 'no_such_page.md'),
                                             ('index.md#no-such-section', 'no-such-section')])
def test_a_broken_link_fails_the_strict_build(tmp_path, link, complaint):
    need_mkdocs()
    docs = tmp_path / 'docs'
    docs.mkdir()
    (docs / 'index.md').write_text('# Home\n\n[the other page](other.md)\n', encoding='utf-8')
    (docs / 'other.md').write_text(f'# Other\n\n[a broken link]({link})\n', encoding='utf-8')
    broken = config()
    broken.update(docs_dir=str(docs), nav=[{'Home': 'index.md'}, {'Other': 'other.md'}])
    broken['plugins'] = [p for p in broken['plugins'] if p == 'search']
    (tmp_path / 'mkdocs.yml').write_text(yaml.safe_dump(broken), encoding='utf-8')
    status, log = build(tmp_path / 'mkdocs.yml', tmp_path / 'site')
    assert status != 0, log
    assert complaint in log and 'strict mode' in log, log
