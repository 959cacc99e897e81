"""Make low-resolution images with MATLAB's bicubic ``imresize`` (BasicSR's port, antialiased), not OpenCV's.

    python datasets_prep/generate_bicubic_lr.py --input HR_DIR --output LR_DIR --scale 4
    python datasets_prep/generate_bicubic_lr.py --input Set5/HR --output Set5/LR_bicubic/X4 --scale 4 \\
        --filename-tmpl '{}x4'

Each HR image is first mod-cropped (bottom/right) to a multiple of the scale, so every LR image is exactly 1/scale
of its cropped HR image; cropped images are reported. The LR file of ``baby.png`` is ``<tmpl>.format('baby') +
'.png'``: ``baby.png`` with the default ``'{}'`` (pairs with BasicSR's ``filename_tmpl: '{}'``), ``babyx4.png`` with
``'{}x4'``. The output is built in ``<output>.partial`` and resumes after an interruption.
"""
import argparse
import functools
import sys
from pathlib import Path

if __package__ in (None, ''):  # run as `python datasets_prep/<script>.py`: make `datasets_prep` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from datasets_prep.common import (  # noqa: E402
    ArgumentParser,
    PrepError,
    Summary,
    add_common_args,
    info,
    name_list,
    run_cli,
    warn,
)
from datasets_prep.images import (  # noqa: E402
    list_images,
    mod_crop,
    read_image,
    refuse_name_clashes,
    report_colour_conversions,
    scan_images,
    write_png,
)
from datasets_prep.staging import StagedOutput, refuse_overlap, run_resumable, staged_outputs  # noqa: E402

SCALES = (2, 3, 4, 8)
#: BasicSR's MATLAB ``imresize`` fails (a torch size error) when it would make fewer LR pixels per side than this.
MIN_LR_SIDE = 2


def too_small_for_bicubic(infos, scale):
    """``name (WxH)`` of the images whose mod-cropped sides would give fewer than MIN_LR_SIDE LR pixels."""
    return [f'{i.name} ({i.width}x{i.height})' for i in infos if min(i.height, i.width) // scale < MIN_LR_SIDE]


def bicubic_downscale(img, scale):
    """The 1/``scale`` MATLAB-bicubic downscaling of an 8-bit image, mod-cropped to a multiple of ``scale`` first."""
    from datasets_prep.basicsr_bridge import imresize

    img = mod_crop(img, scale)
    lr = imresize(img.astype(np.float64) / 255., 1 / scale)
    return np.clip(np.round(lr * 255.), 0, 255).astype(np.uint8)


def lr_file_name(stem, filename_tmpl):
    """``'{}x4'`` and ``baby`` -> ``babyx4.png``."""
    return filename_tmpl.format(stem) + '.png'


def check_filename_tmpl(filename_tmpl):
    """PrepError unless the template holds ``{}`` once, no other brace, no ``/`` or NUL, and does not make hidden
    files (BasicSR's folder listing skips names starting with a dot)."""
    rest = filename_tmpl.replace('{}', '', 1)
    if ('{}' not in filename_tmpl or any(c in rest for c in '{}/\0') or filename_tmpl.startswith('.')):
        raise PrepError(f"--filename-tmpl must contain '{{}}' exactly once, no other brace and no '/', and must not "
                        f"start with '.', got {filename_tmpl!r}")


def downscale_one(path, out_dir, scale, filename_tmpl, compress_level):
    """Write the LR image of one HR image; return its done-log record."""
    lr = bicubic_downscale(read_image(path), scale)
    out_name = lr_file_name(Path(path).stem, filename_tmpl)
    written = write_png(Path(out_dir) / out_name, lr, compress_level)
    return {'name': Path(path).name, 'output': out_name, 'bytes': written, 'shape': list(lr.shape)}


def report_mod_crops(infos, scale):
    """Warn about HR images whose size is not a multiple of ``scale``; return the summary note (or None)."""
    cropped = [f'{i.name} ({i.width}x{i.height} -> {i.width - i.width % scale}x{i.height - i.height % scale})'
               for i in infos if i.height % scale or i.width % scale]
    if not cropped:
        return None
    note = f'mod-cropped {len(cropped)} HR image(s) to a multiple of {scale}: {name_list(cropped)}'
    warn(note)
    return note


def check_inputs(infos, scale, filename_tmpl):
    """Refuse, before anything is written, a bad template, images smaller than the scale and LR names that clash."""
    check_filename_tmpl(filename_tmpl)
    too_small = too_small_for_bicubic(infos, scale)
    if too_small:
        raise PrepError(f'image(s) too small for x{scale} MATLAB bicubic, which needs sides of at least '
                        f'{MIN_LR_SIDE * scale} pixels: {name_list(too_small)}')
    refuse_name_clashes([i.path for i in infos], name_of=lambda path: lr_file_name(path.stem, filename_tmpl))


def generate_into(infos, out_dir, scale, filename_tmpl, compress_level, workers, desc=None):
    """Write the LR images of ``infos`` (checked by :func:`check_inputs`) into ``out_dir``, resuming from its done
    log; return the records."""
    import datasets_prep.basicsr_bridge  # noqa: F401  (import once here, not in every worker process)

    worker = functools.partial(downscale_one, out_dir=str(out_dir), scale=scale, filename_tmpl=filename_tmpl,
                               compress_level=compress_level)
    records = run_resumable(out_dir, [i.path for i in infos], worker, workers, desc or f'bicubic x{scale}')
    found = sum(1 for p in Path(out_dir).iterdir() if p.suffix == '.png')
    if found != len(infos):
        raise PrepError(f'{out_dir} holds {found} LR images, expected {len(infos)}; rerun with --overwrite')
    return records


def generate_folder(input_dir, output, scale=4, filename_tmpl='{}', compress_level=3, workers=1, overwrite=False):
    """The whole step: check the inputs, write into ``<output>.partial``, move into place."""
    summary = Summary(f'generate_bicubic_lr x{scale}')
    check_filename_tmpl(filename_tmpl)
    refuse_overlap(staged_outputs('--output', output), [('--input', input_dir)])
    infos = scan_images(list_images(input_dir))
    check_inputs(infos, scale, filename_tmpl)
    summary.notes += report_colour_conversions(infos)
    note = report_mod_crops(infos, scale)
    if note:
        summary.notes.append(note)
    params = {'step': 'generate_bicubic_lr', 'inputs': [[i.name, i.path.stat().st_size] for i in infos],
              'scale': scale, 'filename_tmpl': filename_tmpl, 'compress_level': compress_level}
    with StagedOutput(output, overwrite, params=params) as staged:
        records = generate_into(infos, staged.partial, scale, filename_tmpl, compress_level, workers)
        staged.commit()
    summary.images = len(records)
    summary.bytes_written = sum(r['bytes'] for r in records)
    return summary.finish()


def build_parser():
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, input_help='folder of HR images', output_help='output folder of LR images')
    parser.add_argument('--scale', type=int, choices=SCALES, default=4, help='downscaling factor (default: 4)')
    parser.add_argument('--filename-tmpl', default='{}',
                        help="LR file name (without .png) from the HR name: '{}' keeps it, '{}x4' adds x4 "
                        "(default: '{}')")
    parser.add_argument('--compress-level', type=int, choices=range(10), default=3, metavar='0-9',
                        help='PNG compression (default: 3)')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    summary = generate_folder(args.input, args.output, args.scale, args.filename_tmpl, args.compress_level,
                              args.workers, args.overwrite)
    info(f'wrote {args.output}')
    info(summary.text())
    return summary


if __name__ == '__main__':
    sys.exit(run_cli(main))
