"""The option files shipped with this package: list them, print one, or copy one out to edit.

    fasrgan-options list                          # every shipped option file and what it is
    fasrgan-options show train_FASRGAN_x4.yml     # print one
    fasrgan-options copy train_FASRGAN_x4.yml     # copy it into the current folder (or: copy NAME DEST)
    fasrgan-options where                         # the folder they are in
    fasrgan-options schema                        # the JSON Schema editors check option files against

A name is the file's path inside the options folder (``test/test_FASRGAN_x4.yml``), or only its file name when
that is unique. Each file's header says which paper variant or ablation it is and where every number comes from;
its first line, ``# yaml-language-server: $schema=options.schema.json``, points editors with the YAML language
server at the JSON Schema of every option (completion and typo marks; keep the line, with the schema's path, in a
copy you edit elsewhere). ``copy`` never replaces an existing file. In a clone the files are the repository's
``options/``; an installed wheel carries the same files.

``python -m fasrgan_basicsr.cli.options`` is the same command.
"""
import shutil
import sys
from os import path as osp

from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point
from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.shipped_options import SCHEMA, list_option_files, options_dir


def summary_line(path):
    """The first comment line of an option file, without its ``# ``."""
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('# yaml-language-server'):
                continue
            return line.lstrip('#').strip()
    return ''


def find(name):
    """The relative path of the shipped option file ``name`` (a relative path, or a unique file name)."""
    names = list_option_files()
    if name in names:
        return name
    matches = [n for n in names if osp.basename(n) == osp.basename(name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UserError(f'{name}: {len(matches)} shipped option files have that name ({", ".join(matches)}); give '
                        'its folder too.')
    raise UserError(f'{name}: not a shipped option file (fasrgan-options list shows them).')


def main(argv=None):
    parser = ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest='action', required=True, metavar='{list,show,copy,where,schema}')
    sub.add_parser('list', help='every shipped option file and its first line')
    show = sub.add_parser('show', help='print one option file')
    show.add_argument('name')
    copy = sub.add_parser('copy', help='copy one option file out to edit (never replaces a file)')
    copy.add_argument('name')
    copy.add_argument('dest', nargs='?', default='.', help='a folder or a file name (default: the current folder)')
    sub.add_parser('where', help='the folder of the shipped option files')
    sub.add_parser('schema', help='the path of the JSON Schema of option files')
    args = parser.parse_args(argv)
    folder = options_dir()
    if args.action == 'where':
        print(folder)
    elif args.action == 'schema':
        print(osp.join(folder, SCHEMA))
    elif args.action == 'list':
        names = list_option_files()
        width = max(len(n) for n in names)
        for name in names:
            print(f'{name:<{width}}  {summary_line(osp.join(folder, name))}')
    elif args.action == 'show':
        with open(osp.join(folder, find(args.name)), encoding='utf-8') as f:
            sys.stdout.write(f.read())
    else:
        name = find(args.name)
        dest = osp.join(args.dest, osp.basename(name)) if osp.isdir(args.dest) else args.dest
        if osp.lexists(dest):
            raise UserError(f'{dest}: exists already; choose another destination (nothing was copied).')
        if not osp.isdir(osp.dirname(osp.abspath(dest))):
            raise UserError(f'{dest}: its folder does not exist.')
        shutil.copyfile(osp.join(folder, name), dest)
        print(f'copied {name} to {dest}')


run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
