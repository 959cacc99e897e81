"""The package's layers (docs/architecture.md): its import contracts hold, no module or part imports itself back
through others (function-local imports included), and every documented command line answers ``--help``."""
import ast
import contextlib
import importlib
import io
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import fasrgan_basicsr

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / 'fasrgan_basicsr'


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def modules():
    """``{module name: path}`` of every module of the package."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob('*.py'))}


def imports_of(name, path, known):
    """The package modules ``name`` imports anywhere in its source (top level, functions and classes alike)."""
    package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join(anchor + ([base] if base else []))
            # `from a import b` imports the module a.b when there is one, else a
            targets = [f'{base}.{a.name}' if f'{base}.{a.name}' in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a name inside a module: that module
                target = target.rpartition('.')[0]
            if target and target != name:
                found.add(target)
    return found


def graph():
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges):
    """The strongly connected components of more than one node (Tarjan's algorithm), each sorted."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def part(name):
    """The part a module belongs to: its top-level subpackage or module (the root package's own ``__init__`` apart)."""
    parts = name.split('.')
    return name if len(parts) == 1 else '.'.join(parts[:2])


def test_the_cycle_finder_finds_cycles_and_only_them():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
    assert cycles({'a': {'b'}, 'b': set(), 'c': {'b'}}) == []


def test_the_import_reader_sees_relative_and_function_local_imports(tmp_path, monkeypatch):
    source = ('from . import b\nfrom .c import thing\nimport os\n\n\ndef f():\n    from p.d import e\n    import p.b\n')
    path = tmp_path / 'p' / 'a.py'
    path.parent.mkdir()
    path.write_text(source)
    assert imports_of('p.a', path, {'p', 'p.a', 'p.b', 'p.c', 'p.d', 'p.d.e'}) == {'p.b', 'p.c', 'p.d.e'}


def test_no_import_cycles_between_modules_or_between_parts():
    edges = graph()
    assert cycles(edges) == []
    parts = {}
    for name, targets in edges.items():
        parts.setdefault(part(name), set()).update(part(t) for t in targets if part(t) != part(name))
    assert cycles(parts) == []


def test_lower_layers_never_import_the_root_package():
    """``import fasrgan_basicsr`` runs the root ``__init__``, which imports compat, archs, losses, metrics and models:
    from any of those (or what they use) it would close a cycle. Only the commands and the scripts import it."""
    scripts = {f'fasrgan_basicsr.{p.stem}' for p in PACKAGE.glob('*.py') if p.stem != '__init__'}
    offenders = sorted(name for name, targets in graph().items() if 'fasrgan_basicsr' in targets
                       and not (name.startswith('fasrgan_basicsr.cli.') or name in scripts))
    assert offenders == []


def test_the_import_contracts_hold():
    pytest.importorskip('importlinter', reason='import-linter is not installed (pip install -e .[dev])')
    from importlinter import cli
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.lint_imports(config_filename=str(REPO / 'pyproject.toml'))
    assert status == 0, out.getvalue()[-3000:]


def command_modules():
    import fasrgan_basicsr.cli as commands
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__))


@pytest.mark.parametrize('name', command_modules())
def test_every_command_answers_help(name, capsys):
    module = importlib.import_module(f'fasrgan_basicsr.cli.{name}')
    with pytest.raises(SystemExit) as done:
        module.main(['--help'])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: ') and '--root' in out, out[:500]


def test_every_command_is_installed_as_a_console_script():
    setup = (REPO / 'setup.py').read_text()
    targets = {line.split(':')[0].strip(" '") for line in setup.split('COMMANDS = {', 1)[1].split('}', 1)[0]
               .split('\n') if ':' in line for line in [line.split("': '", 1)[-1]]}
    assert targets == set(command_modules())


#: the command lines users type from a clone: BasicSR's scripts, the paths kept for one release, the prep scripts
SCRIPTS = (['fasrgan_basicsr/train.py', 'fasrgan_basicsr/test.py']
           + [f'fasrgan_basicsr/{m}.py' for m in ('inference', 'export', 'score_outputs', 'collect_results',
                                                  'object_recognition', 'visualize_score_map', 'visualize_features',
                                                  'demo', 'demo_realworld')]
           + sorted(f'datasets_prep/{p.name}' for p in (REPO / 'datasets_prep').glob('*.py')))


@pytest.mark.subprocess
def test_every_script_path_answers_help():
    """Each path run as ``python PATH --help`` (in one interpreter, each as its own ``__main__``)."""
    runner = ('import runpy, sys\n'
              'for path in sys.argv[1:]:\n'
              '    sys.argv = [path, "--help"]\n'
              '    try:\n'
              '        runpy.run_path(path, run_name="__main__")\n'
              '    except SystemExit as done:\n'
              '        print("EXIT", path, done.code, flush=True)\n')
    proc = subprocess.run([sys.executable, '-c', runner, *SCRIPTS], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exits = [line.split() for line in proc.stdout.splitlines() if line.startswith('EXIT ')]
    assert [(path, code) for _, path, code in exits] == [(path, '0') for path in SCRIPTS], proc.stdout[-3000:]
    for old in SCRIPTS[2:11]:
        assert f'note: {old} has moved to `fasrgan-' in proc.stderr


def test_the_package_version_is_the_one_setup_py_installs():
    import re
    version = re.search(r"__version__ = '([^']+)'", (PACKAGE / 'version.py').read_text()).group(1)
    assert fasrgan_basicsr.__version__ == version
