"""Write what the option table makes: ``docs/options.md`` (the options reference) and ``options/options.schema.json``.

    python tools/generate_option_docs.py           # rewrite both
    python tools/generate_option_docs.py --check   # exit 1 when either is stale (tests/test_option_table.py does it)
"""
import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fasrgan_basicsr.pipeline.option_reference import reference_text  # noqa: E402
from fasrgan_basicsr.pipeline.option_schema import schema_text  # noqa: E402

OUTPUTS = {REPO / 'docs' / 'options.md': reference_text, REPO / 'options' / 'options.schema.json': schema_text}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true', help='only say which outputs are stale')
    args = parser.parse_args(argv)
    stale = []
    for path, make in OUTPUTS.items():
        text = make()
        if path.exists() and path.read_text(encoding='utf-8') == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding='utf-8')
            print(f'wrote {path.relative_to(REPO)}')
    if args.check and stale:
        print('stale: ' + ', '.join(str(p.relative_to(REPO)) for p in stale)
              + ' (run python tools/generate_option_docs.py)')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
