"""datasets_prep given bad input: one ``error:`` line naming the file or option, exit 2, inputs untouched.

The list of bad inputs tried and what each gives is in datasets_prep/README.md, "What is guaranteed for bad input".
"""
import contextlib
import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import pytest
from test_datasets_prep import digest, run_main
from test_datasets_prep_pairing import write_images

from fasrgan_basicsr.datasets_prep import (
    create_lmdb,
    extract_subimages,
    generate_bicubic_lr,
    prepare_benchmarks,
    prepare_div2k,
    prepare_realsr,
)

SINGLE_STEPS = [generate_bicubic_lr, extract_subimages, create_lmdb]


def step_args(module):
    return ['--crop-size', 8, '--step', 8] if module is extract_subimages else []


def assert_refused(result, *names):
    """Exit 2 and exactly one stderr line, an ``error:`` naming every one of ``names``."""
    code, _, stderr = result
    assert code == 2, stderr
    assert stderr.startswith('error: ') and stderr.count('\n') == 1, stderr
    for name in names:
        assert str(name) in stderr, (name, stderr)
    return stderr


# ------------------------------------------------------------------------------------ outputs overlapping inputs
def overlap_cases(tmp_path, module):
    """``(label, input folder, output path)``: outputs that are, lie inside or contain the input, some via symlinks."""
    hr = tmp_path / 'data' / ('imgs.lmdb' if module is create_lmdb else 'HR')
    write_images(hr, {'a.png': (16, 16), 'b.png': (16, 24)})
    (tmp_path / 'link').symlink_to(hr, target_is_directory=True)
    (tmp_path / 'data_link').symlink_to(tmp_path / 'data', target_is_directory=True)
    inside = 'in.lmdb' if module is create_lmdb else 'sub'
    return [('the input itself', hr, hr),
            ('inside the input', hr, hr / inside),
            ('the folder holding the input', hr, tmp_path / 'data'),
            ('inside a symlink to the input', tmp_path / 'link', hr / inside),
            ('inside the input, reached through a symlink', hr, tmp_path / 'link' / inside),
            ('a symlink to the input', hr, tmp_path / 'link'),
            ('a symlink to the folder holding the input', hr, tmp_path / 'data_link')]


@pytest.mark.parametrize('case', range(7))
@pytest.mark.parametrize('module', SINGLE_STEPS)
def test_output_overlapping_the_input_is_refused_even_with_overwrite(module, case, tmp_path):
    label, input_dir, output = overlap_cases(tmp_path, module)[case]
    before = digest(tmp_path / 'data')
    stderr = assert_refused(run_main(module, '--input', input_dir, '--output', output, '--overwrite',
                                     *step_args(module)), '--output', '--input')
    assert 'an output must lie outside every input' in stderr, label
    assert digest(tmp_path / 'data') == before, label  # every input byte for byte, nothing added
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data', 'data_link', 'link']


def test_div2k_output_inside_its_input_is_refused(tmp_path):
    hr = tmp_path / 'DIV2K_train_HR'
    write_images(hr, {'0001.png': (16, 16)})
    before = digest(hr)
    assert_refused(run_main(prepare_div2k, '--input', hr, '--output', hr, '--overwrite', '--crop-size', 8, '--step',
                            8), f'--output {hr / "DIV2K_train_HR_sub.lmdb"} lies inside --input {hr}')
    assert digest(hr) == before


def test_benchmarks_output_onto_the_downloads_is_refused(tmp_path):
    """``--output`` = ``--input``: ``<output>/Set5`` is the downloaded Set5 folder itself."""
    downloads = tmp_path / 'downloads'
    write_images(downloads / 'Set5', {'baby.png': (16, 16)})
    before = digest(downloads)
    assert_refused(run_main(prepare_benchmarks, '--input', downloads, '--output', downloads, '--overwrite'),
                   f'--output {downloads / "Set5"}', '--input')
    assert digest(downloads) == before


def test_benchmarks_output_onto_a_set_reached_through_a_symlink_is_refused(tmp_path):
    """The set folder in the downloads is a symlink to a folder elsewhere; the output is that folder's parent."""
    elsewhere = tmp_path / 'elsewhere'
    write_images(elsewhere / 'Set5', {'baby.png': (16, 16)})
    (tmp_path / 'downloads').mkdir()
    (tmp_path / 'downloads' / 'Set5').symlink_to(elsewhere / 'Set5', target_is_directory=True)
    before = digest(elsewhere)
    assert_refused(run_main(prepare_benchmarks, '--input', tmp_path / 'downloads', '--output', elsewhere,
                            '--overwrite'), f'--output {elsewhere / "Set5"} is the same folder as --input')
    assert digest(elsewhere) == before


def test_realsr_output_inside_its_input_is_refused(tmp_path):
    source = tmp_path / 'RealSR(V3)'
    write_images(source / 'Canon' / 'Test' / '4', {'Canon_001_HR.png': (16, 16), 'Canon_001_LR4.png': (4, 4)})
    before = digest(source)
    assert_refused(run_main(prepare_realsr, '--input', source, '--output', source / 'out', '--splits', 'test'),
                   f'lies inside --input {source}')
    assert digest(source) == before


def test_output_beside_the_input_is_accepted(tmp_path):
    """The check compares folders, not name prefixes: ``HR_sub`` beside ``HR`` is fine."""
    hr = tmp_path / 'HR'
    write_images(hr, {'a.png': (16, 16)})
    code, _, stderr = run_main(extract_subimages, '--input', hr, '--output', tmp_path / 'HR_sub', '--crop-size', 8,
                               '--step', 8)
    assert code == 0, stderr
    assert sorted(os.listdir(tmp_path / 'HR_sub')) == [f'a_s00{k}.png' for k in range(1, 5)]
    assert Path(tmp_path / 'HR' / 'a.png').is_file()


# ----------------------------------------------------------------------------------- images too small for bicubic
def test_image_too_small_for_matlab_bicubic_is_named_before_any_work(tmp_path):
    """BasicSR's imresize raises a torch size error below 2 LR pixels a side (a 7x6 image at x4 is cropped to 4x4)."""
    images = tmp_path / 'in'
    write_images(images, {'big.png': (16, 16), 'small.png': (6, 7)})
    assert_refused(run_main(generate_bicubic_lr, '--input', images, '--output', tmp_path / 'out'),
                   'too small for x4 MATLAB bicubic, which needs sides of at least 8 pixels: small.png (7x6)')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']
    code, _, stderr = run_main(generate_bicubic_lr, '--input', images, '--output', tmp_path / 'out', '--scale', 2)
    assert code == 0, stderr  # 6x6 after the x2 mod-crop: 3x3 LR pixels


def test_benchmark_hr_too_small_needs_a_shipped_lr(tmp_path):
    write_images(tmp_path / 'dl' / 'Set5' / 'HR', {'tiny.png': (4, 4), 'baby.png': (16, 16)})
    assert_refused(run_main(prepare_benchmarks, '--input', tmp_path / 'dl', '--output', tmp_path / 'out'),
                   'Set5 HR image(s) too small to make a x4 LR', 'tiny.png (4x4)')
    assert not (tmp_path / 'out').exists()
    write_images(tmp_path / 'dl' / 'Set5' / 'LR_bicubic' / 'X4', {'tinyx4.png': (1, 1)})
    code, stdout, stderr = run_main(prepare_benchmarks, '--input', tmp_path / 'dl', '--output', tmp_path / 'out')
    assert code == 0, stderr
    assert 'Set5: 2 pairs, LR shipped for 1, generated for 1' in stdout


def test_div2k_crop_too_small_for_bicubic_is_refused(tmp_path):
    write_images(tmp_path / 'hr', {'0001.png': (16, 16)})
    assert_refused(run_main(prepare_div2k, '--input', tmp_path / 'hr', '--output', tmp_path / 'out', '--crop-size', 4,
                            '--step', 4), '--crop-size 4 is too small for x4 MATLAB bicubic')
    assert not (tmp_path / 'out').exists()


def test_realsr_same_size_lr_too_small_to_downscale_is_refused(tmp_path):
    folder = tmp_path / 'RealSR(V3)' / 'Canon' / 'Test' / '4'
    write_images(folder, {'Canon_001_HR.png': (4, 8), 'Canon_001_LR4.png': (4, 8)})
    assert_refused(run_main(prepare_realsr, '--input', tmp_path / 'RealSR(V3)', '--output', tmp_path / 'out',
                            '--splits', 'test'), 'Canon_001_LR4.png: LR has the HR size 8x4 (pre-upsampled), too small')
    assert not (tmp_path / 'out').exists()


# ---------------------------------------------------------------------------------------------- hostile arguments
@pytest.mark.parametrize('module, argv, message', [
    (generate_bicubic_lr, ['--scale', 0], 'error: argument --scale: invalid choice: 0 (choose from 2, 3, 4, 8)'),
    (prepare_benchmarks, ['--scale', 0], 'error: argument --scale: invalid choice: 0 (choose from 2, 3, 4)'),
    (prepare_div2k, ['--scales', 4, 0], 'error: argument --scales: invalid choice: 0 (choose from 2, 3, 4)'),
    (prepare_realsr, ['--scale', 'x4'], "error: argument --scale: invalid int value: 'x4'"),
    (extract_subimages, ['--crop-size', 0], 'error: argument --crop-size: expected an integer >= 1, got 0'),
    (create_lmdb, ['--workers', 0], 'error: argument --workers: expected an integer >= 1, got 0'),
    (create_lmdb, ['--compress-level', 10], 'error: argument --compress-level: invalid choice: 10'),
    (generate_bicubic_lr, ['--filename-tmpl', '{}{x}'], "--filename-tmpl must contain '{}' exactly once, no other "
                                                        "brace and no '/', and must not start with '.', got '{}{x}'"),
    (generate_bicubic_lr, ['--filename-tmpl', '{}x{'], "got '{}x{'"),
    (generate_bicubic_lr, ['--filename-tmpl', '.{}'], "got '.{}'"),  # hidden files: BasicSR's listing skips them
])
def test_bad_arguments_end_in_one_error_line(module, argv, message, tmp_path):
    write_images(tmp_path / 'in', {'a.png': (16, 16)})
    output = tmp_path / ('out.lmdb' if module is create_lmdb else 'out')
    assert_refused(run_main(module, '--input', tmp_path / 'in', '--output', output, *argv), message, '(see --help)'
                   if message.startswith('error: argument') else '')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']


# -------------------------------------------------------------------------------------------------- hostile outputs
@pytest.mark.parametrize('overwrite', [[], ['--overwrite']])
def test_an_existing_file_at_the_lmdb_output_is_never_replaced(tmp_path, overwrite):
    write_images(tmp_path / 'in', {'a.png': (16, 16)})
    (tmp_path / 'notes.lmdb').write_text('precious')
    assert_refused(run_main(create_lmdb, '--input', tmp_path / 'in', '--output', tmp_path / 'notes.lmdb', *overwrite),
                   f'output {tmp_path / "notes.lmdb"} exists and is not a folder; it was left untouched')
    assert (tmp_path / 'notes.lmdb').read_text() == 'precious'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in', 'notes.lmdb']


def test_a_folder_that_is_not_an_lmdb_is_never_replaced(tmp_path):
    write_images(tmp_path / 'in', {'a.png': (16, 16)})
    (tmp_path / 'photos.lmdb').mkdir()
    (tmp_path / 'photos.lmdb' / 'holiday.jpg').write_bytes(b'precious')
    assert_refused(run_main(create_lmdb, '--input', tmp_path / 'in', '--output', tmp_path / 'photos.lmdb',
                            '--overwrite'), 'is a folder but not an LMDB (no data.mdb); it was left untouched')
    assert (tmp_path / 'photos.lmdb' / 'holiday.jpg').read_bytes() == b'precious'


@pytest.mark.parametrize('module', SINGLE_STEPS)
def test_an_existing_file_at_a_folder_output_is_never_replaced(module, tmp_path):
    write_images(tmp_path / 'in', {'a.png': (16, 16)})
    target = tmp_path / ('x.lmdb' if module is create_lmdb else 'x')
    target.write_text('precious')
    assert_refused(run_main(module, '--input', tmp_path / 'in', '--output', target, '--overwrite', *step_args(module)),
                   f'output {target} exists and is not a folder')
    assert target.read_text() == 'precious'


@pytest.mark.parametrize('output', ['', '.', '/', 'in/..'])
def test_an_output_that_names_no_folder_is_refused(tmp_path, output, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_images(tmp_path / 'in', {'a.png': (16, 16)})
    assert_refused(run_main(generate_bicubic_lr, '--input', 'in', '--output', output, '--overwrite'),
                   f'error: --output {output!r} does not name a file or folder to write')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']


def test_an_output_containing_the_current_folder_is_refused(tmp_path, monkeypatch):
    write_images(tmp_path / 'in', {'a.png': (16, 16)})
    (tmp_path / 'work' / 'here').mkdir(parents=True)
    monkeypatch.chdir(tmp_path / 'work' / 'here')
    assert_refused(run_main(generate_bicubic_lr, '--input', tmp_path / 'in', '--output', tmp_path / 'work',
                            '--overwrite'), f'--output {tmp_path / "work"} is or contains the current folder')
    assert (tmp_path / 'work' / 'here').is_dir()


def test_an_output_below_a_file_is_named(tmp_path):
    write_images(tmp_path / 'in', {'a.png': (16, 16)})
    (tmp_path / 'plain').write_text('x')
    assert_refused(run_main(create_lmdb, '--input', tmp_path / 'in', '--output', tmp_path / 'plain' / 'x.lmdb'),
                   f'--output {tmp_path / "plain" / "x.lmdb"} cannot be written: {tmp_path / "plain"} is a file')


# --------------------------------------------------------------------------------------------------- hostile inputs
def test_broken_symlinks_named_like_images_are_not_skipped_silently(tmp_path):
    images = tmp_path / 'in'
    write_images(images, {'a.png': (16, 16)})
    (images / 'gone.png').symlink_to(tmp_path / 'nowhere.png')
    (images / 'loop.png').symlink_to(images / 'loop.png')
    assert_refused(run_main(generate_bicubic_lr, '--input', images, '--output', tmp_path / 'out'),
                   f'input folder {images} holds broken symbolic links named like images', 'gone.png', 'loop.png')


def png_claiming(width, height):
    """A valid PNG header announcing ``width`` x ``height`` pixels, with almost no pixel data."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(b'\0' * 10)) + chunk(b'IEND', b''))


def test_an_image_claiming_a_huge_size_is_named(tmp_path):
    images = tmp_path / 'in'
    write_images(images, {'a.png': (16, 16)})
    (images / 'bomb.png').write_bytes(png_claiming(40000, 40000))
    assert_refused(run_main(create_lmdb, '--input', images, '--output', tmp_path / 'out.lmdb'),
                   f'{images / "bomb.png"}: too large to decode safely')


@contextlib.contextmanager
def as_nobody():
    """Drop to an unprivileged effective user (the tests run as root, who can read everything)."""
    if os.geteuid() != 0:
        pytest.skip('needs root to switch to an unprivileged user')
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture
def shared_tmp():
    """A temporary folder the unprivileged user can enter and write."""
    base = Path(tempfile.mkdtemp())
    os.chmod(base, 0o777)
    yield base
    for path in base.rglob('*'):
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o755)
    shutil.rmtree(base)


def test_an_unreadable_input_folder_is_named_as_unreadable(shared_tmp):
    images = shared_tmp / 'in'
    write_images(images, {'a.png': (16, 16)})
    os.chmod(images, 0)
    with as_nobody():
        assert_refused(run_main(create_lmdb, '--input', images, '--output', shared_tmp / 'out.lmdb'),
                       f'error: input folder {images} cannot be read: Permission denied')


def test_an_unreadable_realsr_camera_folder_is_not_skipped(shared_tmp):
    source = shared_tmp / 'RealSR(V3)'
    for camera in ('Canon', 'Nikon'):
        write_images(source / camera / 'Test' / '4', {f'{camera}_001_HR.png': (16, 16),
                                                      f'{camera}_001_LR4.png': (4, 4)})
    os.chmod(source / 'Nikon', 0)
    with as_nobody():
        assert_refused(run_main(prepare_realsr, '--input', source, '--output', shared_tmp / 'out', '--splits', 'test'),
                       f'RealSR input {source / "Nikon" / "Test" / "4"} cannot be read: Permission denied')
    assert not (shared_tmp / 'out').exists()


def test_set_folders_differing_only_in_case_are_ambiguous(tmp_path):
    write_images(tmp_path / 'dl' / 'Set5', {'baby.png': (16, 16)})
    write_images(tmp_path / 'dl' / 'set5', {'bird.png': (16, 16)})
    assert_refused(run_main(prepare_benchmarks, '--input', tmp_path / 'dl', '--output', tmp_path / 'out'),
                   f"{tmp_path / 'dl'} holds several folders named 'Set5' ignoring case: Set5, set5; keep one")
