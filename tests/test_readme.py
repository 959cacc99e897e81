"""Every command in README.md is real: the program exists, the files it names exist, its arguments parse.

Extraction rule (:func:`commands`): every fenced block whose info string is ``bash``, ``sh`` or ``console``; a line
ending in ``\\`` continues on the next; words are split and ``#`` comments dropped by the shell's rules (``shlex``);
in a ``console`` block only lines starting with ``$ `` are commands (the rest is output). Every other line with a
word left is one command. Leading ``NAME=value`` words are environment assignments.

Checks of each command (:func:`problems`), none needing data:

- the program is a console script of ``setup.py``'s ``COMMANDS``, ``python <file>`` of a file in the repository,
  ``python -m <module>`` of this package, ``make <target>`` of a Makefile target, or ``pip install``; in the docs
  pages also ``python -m pytest``, ``torchrun`` (its own parser, then the script) and ``srun … python …``;
- every word (or the part after ``=`` of ``KEY=PATH``) that is a path into the repository — its first part is a
  top-level entry of the repository other than the folders runs write (``datasets/``, ``experiments/``, ...) —
  exists;
- the arguments parse with the command's own argparse parser: its ``main(argv)`` runs up to its ``parse_args``,
  which stops it (:func:`stopped_at_parse`), so nothing else runs; ``fasrgan-train`` / ``fasrgan-test`` parse with
  the pipeline's parser (their ``main`` installs BasicSR hooks before parsing). A file kept only to forward to a moved
  command is refused: the README names the command. ``pip install``: its extras exist in ``setup.py`` and a torch
  or torchvision pin is the Makefile's ``TORCH_PINS``.

The README's cheap commands are run as well (:func:`is_cheap`): ``--help`` lines and ``fasrgan-options`` but
``copy``. The docs pages (``docs/*.md``) are checked the same way but not run, with one more convention: an
optional part written in brackets (``[--hr HR_DIR]``) is checked as if given.
``test_checker_refuses_bad_commands`` shows the checker fails on a missing file, an unknown flag, an unknown command,
an unknown make target, a moved path and an unknown extra.
"""
import argparse
import ast
import contextlib
import importlib
import importlib.util
import io
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / 'README.md'
#: folders that runs write (or the user provides) under the root: paths into them are not checked
RUN_FOLDERS = {'datasets', 'experiments', 'results', 'tb_logger', 'site', 'exported', 'out', '.git'}
SHELL_BLOCKS = {'bash', 'sh', 'console'}


def commands(markdown):
    """``[(line number, words)]`` of every command in the shell blocks of ``markdown`` (the module's rule)."""
    found, language, pending, start = [], None, '', 0
    for number, line in enumerate(markdown.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith('```'):
            language = None if language is not None else (stripped[3:].strip().split() or [''])[0]
            continue
        if language not in SHELL_BLOCKS:
            continue
        if not pending:
            if language == 'console':
                if not stripped.startswith('$ '):
                    continue
                stripped = stripped[2:]
            start = number
        if stripped.endswith('\\'):
            pending += stripped[:-1] + ' '
            continue
        words = shlex.split(pending + stripped, comments=True)
        pending = ''
        if words:
            found.append((start, words))
    return found


def _setup_literal(name):
    """The literal value of ``COMMANDS`` (an assignment) or of ``setup()``'s keyword ``name`` in setup.py."""
    tree = ast.parse((REPO / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == name for t in node.targets):
            return ast.literal_eval(node.value)
        if isinstance(node, ast.keyword) and node.arg == name:
            return ast.literal_eval(node.value)
    raise LookupError(f'setup.py has no {name}')


def console_scripts():
    """console command → module of ``fasrgan_basicsr.cli`` (setup.py's ``COMMANDS``)."""
    return {name: target.split(':')[0] for name, target in _setup_literal('COMMANDS').items()}


def make_targets():
    text = (REPO / 'Makefile').read_text()
    return {m.group(1) for m in re.finditer(r'^([A-Za-z0-9_-]+):(?!=)', text, re.M)}


def torch_pins():
    return set(re.search(r'^TORCH_PINS := (.*)$', (REPO / 'Makefile').read_text(), re.M).group(1).split())


class Parsed(BaseException):
    """Raised by a command's ``parse_args`` under :func:`stopped_at_parse`: the arguments parsed, nothing ran."""


@contextlib.contextmanager
def stopped_at_parse():
    """Every argparse ``parse_args`` parses, then raises :class:`Parsed` (so ``--root`` is not entered either)."""
    original = argparse.ArgumentParser.parse_args
    saved_argv = sys.argv[:]

    def parse_args(self, args=None, namespace=None):
        original(self, args, namespace)
        raise Parsed()

    argparse.ArgumentParser.parse_args = parse_args
    try:
        yield
    finally:
        argparse.ArgumentParser.parse_args = original
        sys.argv = saved_argv


def parse_problem(call, argv, label):
    """Run ``call(argv)`` up to its parser; the parser's complaint, or None when the arguments parse."""
    err = io.StringIO()
    try:
        with stopped_at_parse(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            call(argv)
    except Parsed:
        return None
    except SystemExit as exit_:  # a plain argparse parser: usage and exit status 2 (or --help: 0)
        lines = err.getvalue().strip().splitlines()
        return None if exit_.code == 0 else f'{label}: {lines[-1] if lines else f"exit status {exit_.code}"}'
    except Exception as exc:  # noqa: BLE001  (the package's parsers raise UserError)
        return f'{label}: {exc}'
    return f'{label}: ran to the end without parsing its arguments'


def cli_call(module_name):
    """What parses a command's arguments: its ``main(argv)``; the pipeline's parser for train and test."""
    if module_name in ('train', 'test'):
        from fasrgan_basicsr.pipeline.options import build_parser
        return lambda argv: build_parser().parse_args(argv)
    return importlib.import_module(f'fasrgan_basicsr.cli.{module_name}').main


def _cli_of_file(path):
    """``(cli module, moved)`` of a script that forwards to ``fasrgan_basicsr.cli.<module>``, else ``(None, False)``."""
    text = path.read_text()
    match = re.search(r'^from fasrgan_basicsr\.cli\.(\w+) import', text, re.M)
    return (match.group(1), 'moved(' in text) if match else (None, False)


def _script_problems(path, args, label):
    module, moved = _cli_of_file(path)
    if moved:
        command = next((c for c, m in console_scripts().items() if m == module), module)
        return [f'{label}: an old path kept for one release; the README names `{command}`']
    if module:
        return [p for p in [parse_problem(cli_call(module), args, label)] if p]
    if 'parse_args(' not in path.read_text():
        return [f'{label}: has no argument parser, so its arguments cannot be checked without running it']
    return [p for p in [parse_problem(lambda argv: _run_script(path, argv), args, label)] if p]


def _run_script(path, argv):
    sys.argv = [str(path)] + list(argv)
    runpy.run_path(str(path), run_name='__main__')


def _pip_problems(args):
    found = []
    if not args or args[0] != 'install':
        return [f'pip {" ".join(args)}: only `pip install` is checked']
    extras = set(_setup_literal('extras_require'))
    pins = torch_pins()
    for word in args[1:]:
        if word.startswith('-'):
            continue
        match = re.fullmatch(r'\.(?:\[([\w,-]+)\])?', word)
        if match:
            unknown = set((match.group(1) or '').split(',')) - extras - {''}
            found += [f'pip install {word}: setup.py has no extra {e!r}' for e in sorted(unknown)]
        elif re.match(r'(torch|torchvision)==', word) and word not in pins:
            found.append(f'pip install {word}: the Makefile pins {" ".join(sorted(pins))}')
    return found


def _path_problems(words):
    top = {p.name for p in REPO.iterdir()} - RUN_FOLDERS
    found = []
    for word in words:
        value = word.split('=', 1)[-1]
        first = value.split('/', 1)[0]
        if first in RUN_FOLDERS or value.startswith(('~', '$', '-')):
            continue
        if '/' in value and first in top and not (REPO / value).exists():
            found.append(f'{value}: no such file in the repository')
    return found


def problems(words):
    """What is wrong with one command (``words`` as :func:`commands` gives them); ``[]`` when it is real."""
    while words and re.fullmatch(r'[A-Z_][A-Z0-9_]*=.*', words[0]):
        words = words[1:]
    if not words:
        return ['no command']
    program, args = words[0], words[1:]
    found = _path_problems(args)
    label = ' '.join(words)
    scripts = console_scripts()
    if program in scripts:
        found += [p for p in [parse_problem(cli_call(scripts[program]), args, label)] if p]
    elif program == 'make':
        targets = [a for a in args if '=' not in a and not a.startswith('-')]
        found += [f'make {t}: no such Makefile target' for t in targets if t not in make_targets()]
    elif program == 'pip' or program in ('python', 'python3') and args[:2] == ['-m', 'pip']:
        found += _pip_problems(args[2:] if program != 'pip' else args)
    elif program == 'torchrun':
        from torch.distributed.run import get_args_parser
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                launch = get_args_parser().parse_args(args)
        except SystemExit:
            return found + [f'{label}: torchrun refuses its arguments: {err.getvalue().strip()[-200:]}']
        found += problems(['python', launch.training_script, *launch.training_script_args])
    elif program == 'srun' and 'python' in args:
        found += problems(args[args.index('python'):])
    elif program in ('python', 'python3') and args[:2] == ['-m', 'pytest']:
        pass  # its paths are checked above
    elif program in ('python', 'python3') and args[:1] == ['-m'] and len(args) > 1:
        module = args[1]
        spec = importlib.util.find_spec(module) if module.startswith('fasrgan_basicsr') else None
        if spec is None or not spec.origin:
            found.append(f'{label}: {module} is not a module of this package')
        elif module.startswith('fasrgan_basicsr.cli.'):
            found += [p for p in [parse_problem(cli_call(module.rsplit('.', 1)[1]), args[2:], label)] if p]
        else:
            found += _script_problems(Path(spec.origin), args[2:], label)
    elif program in ('python', 'python3') and args:
        path = REPO / args[0]
        if not path.is_file():
            found.append(f'{args[0]}: no such file in the repository')
        else:
            found += _script_problems(path, args[1:], label)
    else:
        found.append(f'{program}: not a command of this project (setup.py COMMANDS, python FILE, make TARGET, pip)')
    return list(dict.fromkeys(found))


def is_cheap(words):
    """Safe and quick on a CPU: ``--help`` lines, ``fasrgan-options`` but ``copy``."""
    if '--help' in words or '-h' in words:
        return True
    return words[0] == 'fasrgan-options' and len(words) > 1 and words[1] != 'copy'


def run_cheap(words):
    """Run a cheap console command in this process; returns its exit status and what it printed."""
    out = io.StringIO()
    module = console_scripts()[words[0]]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            if words[0] in ('fasrgan-train', 'fasrgan-test'):
                cli_call(module)(words[1:])
                status = 0
            else:
                status = importlib.import_module(f'fasrgan_basicsr.cli.{module}').run(words[1:])
        except SystemExit as exit_:
            status = exit_.code or 0
    return status, out.getvalue()


README_COMMANDS = commands(README.read_text(encoding='utf-8'))


def test_readme_has_the_two_commands():
    assert [w for _, w in README_COMMANDS][:2] == [['make', 'demo'], ['make', 'test']]
    assert len(README_COMMANDS) >= 10


@pytest.mark.parametrize('words', [w for _, w in README_COMMANDS],
                         ids=[f'L{n}:{" ".join(w)[:60]}' for n, w in README_COMMANDS])
def test_readme_command_is_real(words, monkeypatch):
    monkeypatch.chdir(REPO)
    assert problems(words) == []
    if is_cheap(words):
        status, output = run_cheap(words)
        assert status == 0, output
        assert output.strip()


#: the docs pages whose commands are checked: every page but the generated one and bad_inputs.md (being rewritten)
DOCS_PAGES = sorted(p for p in (REPO / 'docs').glob('*.md') if p.name not in ('options.md', 'bad_inputs.md'))
DOCS_COMMANDS = [(page.name, n, [w.strip('[]') for w in words]) for page in DOCS_PAGES
                 for n, words in commands(page.read_text(encoding='utf-8'))]


@pytest.mark.parametrize('words', [w for _, _, w in DOCS_COMMANDS],
                         ids=[f'{page}:L{n}:{" ".join(w)[:50]}' for page, n, w in DOCS_COMMANDS])
def test_docs_command_is_real(words, monkeypatch):
    monkeypatch.chdir(REPO)
    assert problems(words) == []


def test_readme_names_every_console_command():
    text = README.read_text(encoding='utf-8')
    assert [c for c in console_scripts() if f'`{c}' not in text] == []


def heading_anchors(markdown):
    """The anchors of a page's headings, as GitHub and MkDocs' ``toc`` make them (outside code blocks)."""
    anchors, in_code = set(), False
    for line in markdown.splitlines():
        if line.strip().startswith('```'):
            in_code = not in_code
        elif not in_code and re.match(r'#{1,6} ', line):
            title = re.sub(r'[^\w\s-]', '', line.lstrip('#').strip().lower())
            anchors.add(re.sub(r'\s+', '-', title))
    return anchors


def test_readme_links_into_the_docs_exist():
    links = re.findall(r'\]\(((?!https?:)[^)#]+)(?:#([^)]+))?\)', README.read_text(encoding='utf-8'))
    assert links
    for path, anchor in links:
        assert (REPO / path).is_file(), path
        if anchor:
            assert anchor in heading_anchors((REPO / path).read_text(encoding='utf-8')), f'{path}#{anchor}'


def test_options_list_names_every_option_file_the_readme_names(monkeypatch):
    monkeypatch.chdir(REPO)
    status, listing = run_cheap(['fasrgan-options', 'list'])
    assert status == 0
    named = set(re.findall(r'options/([\w./-]+\.yml)', README.read_text(encoding='utf-8')))
    assert named, 'the README names no option file'
    listed = {line.split()[0] for line in listing.splitlines() if line.strip()}
    assert named - listed == set()


BAD_BLOCK = """
Some prose, then a block the checker must refuse line by line:

```bash
fasrgan-train -opt options/train_NO_SUCH_x4.yml          # a missing option file
fasrgan-infer -i photo.png -o out --no_such_flag          # an unknown flag
fasrgan-no-such-command --help                            # an unknown command
make no-such-target                                       # an unknown make target
python fasrgan_basicsr/no_such_script.py -opt x           # a missing script
python fasrgan_basicsr/inference.py -i photo.png -o out   # a path kept only to forward to fasrgan-infer
pip install -e '.[no_such_extra]'                         # an unknown extra
pip install torch==1.0                                    # not the Makefile's pin
fasrgan-test                                              # a required argument missing
torchrun --nproc_per_node=2 fasrgan_basicsr/train.py -opt options/train_NO_SUCH_x4.yml
```

```console
$ fasrgan-options list
train_FASRGAN_x4.yml  output lines of a console block are not commands
```
"""


def test_checker_refuses_bad_commands(monkeypatch):
    monkeypatch.chdir(REPO)
    found = commands(BAD_BLOCK)
    assert len(found) == 11  # ten bash lines and the console block's one `$ ` line
    *bad, (_, good) = found
    for _, words in bad:
        assert problems(words), f'the checker accepted {" ".join(words)}'
    assert problems(good) == []
    assert 'no such file' in ' '.join(problems(['fasrgan-train', '-opt', 'options/train_NO_SUCH_x4.yml']))


def test_extraction_rule():
    text = '```bash\nA=1 fasrgan-options \\\n    list   # comment\n# only a comment\n```\n```python\nprint(1)\n```\n'
    assert commands(text) == [(2, ['A=1', 'fasrgan-options', 'list'])]
    assert problems(['A=1', 'fasrgan-options', 'list']) == []
