"""Make low-resolution images with MATLAB's bicubic ``imresize`` (BasicSR's port, antialiased), not OpenCV's.

The command is ``fasrgan-generate-bicubic-lr`` (:mod:`fasrgan_basicsr.cli.generate_bicubic_lr`; in a clone also
``python datasets_prep/generate_bicubic_lr.py``), whose ``--help`` says what it writes and how.
"""
import functools
from pathlib import Path

from fasrgan_basicsr.utils.matlab_bicubic import matlab_bicubic_uint8

from .common import (
    PrepError,
    Summary,
    name_list,
    warn,
)
from .images import (
    list_images,
    mod_crop,
    read_image,
    refuse_name_clashes,
    report_colour_conversions,
    scan_images,
    write_png,
)
from .staging import StagedOutput, refuse_overlap, run_resumable, staged_outputs

SCALES = (2, 3, 4, 8)
#: BasicSR's MATLAB ``imresize`` fails (a torch size error) when it would make fewer LR pixels per side than this.
MIN_LR_SIDE = 2


def too_small_for_bicubic(infos, scale):
    """``name (WxH)`` of the images whose mod-cropped sides would give fewer than MIN_LR_SIDE LR pixels."""
    return [f'{i.name} ({i.width}x{i.height})' for i in infos if min(i.height, i.width) // scale < MIN_LR_SIDE]


def bicubic_downscale(img, scale):
    """The 1/``scale`` MATLAB-bicubic downscaling of an 8-bit image, mod-cropped to a multiple of ``scale`` first."""
    return matlab_bicubic_uint8(mod_crop(img, scale), 1 / scale)


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
