"""datasets_prep given bad input: one ``error:`` line naming the file or option, exit 2, inputs untouched.

The list of bad inputs tried and what each gives is in datasets_prep/README.md, "What is guaranteed for bad input".
"""
import os
from pathlib import Path

import pytest
from test_datasets_prep import digest, run_main
from test_datasets_prep_pairing import write_images

from datasets_prep import (
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
