"""Pairing decisions of datasets_prep at their exact edges, and every problem of a set reported at once, each
naming its file: sizes one pixel either side of a limit, names that differ only in case or camera prefix."""
import cv2
import lmdb
import numpy as np
import pytest
from test_datasets_prep_pairing import write_images

from fasrgan_basicsr.datasets_prep import create_lmdb
from fasrgan_basicsr.datasets_prep.common import PrepError
from fasrgan_basicsr.datasets_prep.images import refuse_name_clashes, scan_images
from fasrgan_basicsr.datasets_prep.prepare_benchmarks import key_of_lr_file, match_shipped_lr, prepare_image
from fasrgan_basicsr.datasets_prep.prepare_realsr import (
    find_pairs,
    pairs_large_enough,
    plan_pair,
    plan_split,
    write_pair,
)


# ---------------------------------------------------------------------------------------------- plan_pair
@pytest.mark.parametrize('hr, lr, expected', [
    ((44, 48), (11, 12), ('keep', (11, 12))),  # exactly ×4
    ((43, 48), (11, 12), ('keep', (10, 12))),  # LR rounded up (44 - 43 < 4): cropped to 43 // 4 rows, HR to 40
    ((44, 47), (11, 12), ('keep', (11, 11))),
    ((44, 48), (12, 12), None),                # 48 - 44 = 4: a whole LR row too many is not a rounding
    ((44, 48), (10, 12), None),                # 44 - 40 = 4
    ((44, 48), (11, 13), None),                # 52 - 48 = 4
    ((44, 48), (11, 11), None),
])
def test_plan_pair_accepts_rounding_only_below_one_lr_pixel(hr, lr, expected):
    plan = plan_pair(hr, lr, 4, 'error')
    if expected is None:
        assert plan == f'LR {lr[1]}x{lr[0]} is neither 1/4 of HR {hr[1]}x{hr[0]} nor the same size'
    else:
        assert plan == expected


def test_plan_pair_same_size_lr_needs_two_lr_pixels_a_side():
    assert plan_pair((8, 9), (8, 9), 4, 'downscale') == ('downscale', (2, 2))  # 8 // 4 = 2: the smallest allowed
    assert plan_pair((7, 9), (7, 9), 4, 'downscale') == (
        'LR has the HR size 9x7 (pre-upsampled), too small to downscale by 1/4 with MATLAB bicubic (sides of at '
        'least 8 pixels needed)')
    assert plan_pair((8, 9), (8, 9), 4, 'error') == (
        'LR has the HR size 9x8 (pre-upsampled); rerun with --same-size-lr downscale')


# ------------------------------------------------------------------------------------- pairs_large_enough
def test_pairs_large_enough_keeps_a_pair_exactly_one_crop_big(capsys):
    tasks = [('big', 'h', 'l', 'keep', (8, 9)), ('small', 'h', 'l', 'keep', (7, 9)), ('wide', 'h', 'l', 'keep', (9, 7))]
    assert pairs_large_enough(tasks, 4, 32) == tasks[:1]  # 8·4 = 32: one crop fits
    assert capsys.readouterr().err == ('warning: train: skipped 2 pair(s) smaller than the 32x32 crop: small (36x28), '
                                       'wide (28x36)\n')
    with pytest.raises(PrepError, match=r'^every RealSR train pair is smaller than --crop-size 32: small \(36x28\)$'):
        pairs_large_enough(tasks[1:2], 4, 32)


# --------------------------------------------------------------------------------------------- find_pairs
def realsr(tmp_path, files, camera='Canon', split='Test'):
    folder = tmp_path / 'RealSR(V3)' / camera / split / '4'
    write_images(folder, files)
    return tmp_path / 'RealSR(V3)', folder


def test_find_pairs_reads_suffixes_in_any_case_and_names_pairs_after_their_camera(tmp_path):
    root, _ = realsr(tmp_path, {'Canon_001_hr.png': (16, 16), 'Canon_001_lr4.png': (4, 4), '7_HR.png': (16, 16),
                                '7_LR4.png': (4, 4)})
    pairs = find_pairs(root, 'test', 4)
    assert [(name, hr.name, lr.name) for name, hr, lr in pairs] == [
        ('Canon_7', '7_HR.png', '7_LR4.png'), ('Canon_001', 'Canon_001_hr.png', 'Canon_001_lr4.png')]


def test_find_pairs_reports_every_incomplete_pair(tmp_path):
    root, folder = realsr(tmp_path, {'a_HR.png': (16, 16), 'b_LR4.png': (4, 4), 'c_HR.png': (16, 16),
                                     'c_LR4.png': (4, 4)})
    with pytest.raises(PrepError) as err:
        find_pairs(root, 'test', 4)
    assert str(err.value) == (f'RealSR test pairs are incomplete or ambiguous:\n  {folder / "a"}: only HR found\n'
                              f'  {folder / "b"}: only LR4 found')


def test_find_pairs_refuses_two_pairs_that_would_get_one_name(tmp_path):
    root, _ = realsr(tmp_path, {'1_HR.png': (16, 16), '1_LR4.png': (4, 4), 'canon_1_HR.png': (16, 16),
                                'canon_1_LR4.png': (4, 4)})
    with pytest.raises(PrepError, match=r'^RealSR test files whose names differ only in extension or case .*'
                                        r'1_HR.png \+ canon_1_HR.png'):
        find_pairs(root, 'test', 4)


def test_find_pairs_names_a_missing_input_and_a_missing_split(tmp_path):
    with pytest.raises(PrepError, match=f'^RealSR input folder {tmp_path / "none"} does not exist$'):
        find_pairs(tmp_path / 'none', 'test', 4)
    root, _ = realsr(tmp_path, {'a_HR.png': (16, 16), 'a_LR4.png': (4, 4)}, split='Train')
    with pytest.raises(PrepError, match=r'^no <Camera>/Test/4 folder in .* \(expected the extracted RealSR\(V3\) '):
        find_pairs(root, 'test', 4)
    (root / 'Canon' / 'Test' / '4').mkdir(parents=True)
    with pytest.raises(PrepError, match=r'^RealSR test folder .*Test/4 holds no images'):
        find_pairs(root, 'test', 4)
    write_images(root / 'Canon' / 'Test' / '4', {'readme.png': (4, 4)})
    with pytest.raises(PrepError, match=r'^RealSR test pairs are incomplete or ambiguous: .*Test/4: no \*_HR / '
                                        r'\*_LR4 images$'):
        find_pairs(root, 'test', 4)


def test_plan_split_reports_every_unusable_pair_by_its_lr_file(tmp_path):
    root, folder = realsr(tmp_path, {'a_HR.png': (16, 16), 'a_LR4.png': (3, 4), 'b_HR.png': (16, 16),
                                     'b_LR4.png': (4, 5), 'c_HR.png': (16, 16), 'c_LR4.png': (4, 4)})
    with pytest.raises(PrepError) as err:
        plan_split(root, 'test', 4, 'error')
    assert str(err.value) == (
        f'2 RealSR test pair(s) cannot be used:\n  {folder / "a_LR4.png"}: LR 4x3 is neither 1/4 of HR 16x16 nor the '
        f'same size\n  {folder / "b_LR4.png"}: LR 5x4 is neither 1/4 of HR 16x16 nor the same size')


# -------------------------------------------------------------------------------------- match_shipped_lr
def test_a_shipped_lr_of_the_wrong_size_is_named_with_the_size_expected(tmp_path):
    hr = scan_images([p for p in _write(tmp_path / 'HR', {'a.png': (12, 20)})])
    _write(tmp_path / 'LR', {'ax4.png': (3, 4)})
    with pytest.raises(PrepError, match=r'^shipped LR images do not match their HR \(pass --regenerate-lr to make '
                                        r'every LR from the HR instead\): .*ax4.png: 4x3, expected 5x3 \(1/4 of a.png '
                                        r'mod-cropped\)$'):
        match_shipped_lr(hr, tmp_path / 'LR', 4)


def test_shipped_lr_without_an_hr_is_named_and_ignored(tmp_path, capsys):
    hr = scan_images(_write(tmp_path / 'HR', {'a.png': (8, 8)}))
    _write(tmp_path / 'LR', {'ax4.png': (2, 2), 'zx4.png': (2, 2), 'yx4.png': (2, 2)})
    matched = match_shipped_lr(hr, tmp_path / 'LR', 4)
    assert {k: v.name for k, v in matched.items()} == {'a.png': 'ax4.png'}
    assert capsys.readouterr().err == (f'warning: {tmp_path / "LR"}: ignored 2 LR image(s) without an HR image of '
                                       f'the same name: yx4.png, zx4.png\n')


def test_shipped_lr_is_matched_by_the_same_caseless_name_as_the_clash_check(tmp_path):
    """``ı`` upper-cases to ``I`` and the Kelvin sign folds to ``k``: a shipped LR named with either is the HR's own
    (its name clashes with no other LR file, by the same key)."""
    hr = scan_images(_write(tmp_path / 'HR', {'ı.png': (8, 8), 'Baby.png': (8, 8), '\u212a.png': (8, 8)}))
    _write(tmp_path / 'LR', {'IX4.png': (2, 2), 'babyx4.png': (2, 2), 'kx4.png': (2, 2)})
    matched = match_shipped_lr(hr, tmp_path / 'LR', 4)
    assert {k: v.name for k, v in matched.items()} == {'ı.png': 'IX4.png', 'Baby.png': 'babyx4.png',
                                                        '\u212a.png': 'kx4.png'}


def test_shipped_lr_folders_are_named_in_their_refusals(tmp_path):
    hr = scan_images(_write(tmp_path / 'HR', {'a.png': (8, 8)}))
    (tmp_path / 'LR').mkdir()
    with pytest.raises(PrepError, match=f'^LR folder {tmp_path / "LR"} holds no images'):
        match_shipped_lr(hr, tmp_path / 'LR', 4)
    _write(tmp_path / 'LR', {'ax4.png': (2, 2), 'ax4.bmp': (2, 2)})
    with pytest.raises(PrepError, match=rf'^shipped LR \({tmp_path / "LR"}\) files whose names differ only in '
                                        r'extension or case .*: ax4.bmp \+ ax4.png$'):
        match_shipped_lr(hr, tmp_path / 'LR', 4)


def test_unusable_images_are_named_with_their_role(tmp_path):
    hr = scan_images(_write(tmp_path / 'HR', {'a.png': (8, 8)}))
    (tmp_path / 'LR').mkdir()
    (tmp_path / 'LR' / 'ax4.png').write_bytes(b'')
    with pytest.raises(PrepError, match=r'^1 LR image\(s\) cannot be used \(fix or remove them; nothing was written\): '
                                        r'.*ax4.png: empty file \(0 bytes\)$'):
        match_shipped_lr(hr, tmp_path / 'LR', 4)
    for role, empty in (('HR', 'a_HR.png'), ('LR', 'a_LR4.png')):
        root, folder = realsr(tmp_path / role, {'a_HR.png': (16, 16), 'a_LR4.png': (4, 4)})
        (folder / empty).write_bytes(b'')
        with pytest.raises(PrepError, match=rf'^1 RealSR test {role} image\(s\) cannot be used .*{empty}: empty file'):
            plan_split(root, 'test', 4, 'error')


def test_an_lr_file_name_without_the_scale_suffix_is_refused_by_name():
    with pytest.raises(PrepError, match=r'^dir/a.png: an LR file name must end in x4$'):
        key_of_lr_file('dir/a.png', 4)
    assert key_of_lr_file('dir/ax4x4.png', 4) == 'ax4'


# ------------------------------------------------------------------------------------------ LMDB verification
def lmdb_of(tmp_path, name, sizes):
    write_images(tmp_path / name, sizes)
    create_lmdb.create_lmdb(tmp_path / name, tmp_path / f'{name}.lmdb')
    return tmp_path / f'{name}.lmdb'


def overwrite_entry(path, key, value):
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        txn.put(key.encode('ascii'), value)
    env.close()


def test_lmdb_verification_decodes_the_first_middle_and_last_entries(tmp_path):
    for bad in ('a', 'c', 'd'):  # of a, b, c, d: entries 0, 2 and 3 are sampled
        path = lmdb_of(tmp_path / bad, 'x', {f'{k}.png': (4, 5) for k in 'abcd'})
        assert create_lmdb.verify_lmdb(path, 4) == 4
        overwrite_entry(path, bad, b'not a png')
        with pytest.raises(PrepError, match=rf'^LMDB {path} failed verification: entry {bad} decodes to None, '
                                            r'meta_info records \(4, 5, 3\)$'):
            create_lmdb.verify_lmdb(path, 4)


def test_pair_verification_names_an_entry_that_does_not_decode(tmp_path):
    gt = lmdb_of(tmp_path, 'gt', {'a.png': (8, 8), 'b.png': (8, 8)})
    lq = lmdb_of(tmp_path, 'lq', {'a.png': (2, 2), 'b.png': (2, 2)})
    create_lmdb.verify_pair(gt, lq, 4)
    overwrite_entry(gt, 'b', b'\x89PNG broken')
    with pytest.raises(PrepError, match=r'^GT is not exactly x4 its LQ for key\(s\) b \(does not decode\) '):
        create_lmdb.verify_pair(gt, lq, 4)


def test_pair_verification_names_the_keys_of_one_side_only(tmp_path):
    gt = lmdb_of(tmp_path, 'gt', {'a.png': (8, 8), 'b.png': (8, 8)})
    lq = lmdb_of(tmp_path, 'lq', {'a.png': (2, 2)})
    with pytest.raises(PrepError, match=r'hold different keys \(2 vs 1; only in GT: b; only in LQ: -\)$'):
        create_lmdb.verify_pair(gt, lq, 4)
    with pytest.raises(PrepError, match=r'hold different keys \(1 vs 2; only in GT: -; only in LQ: b\)$'):
        create_lmdb.verify_pair(lq, gt, 4)


def test_lmdb_verification_reports_every_problem_and_reads_grey_entries_as_one_channel(tmp_path):
    path = lmdb_of(tmp_path, 'x', {'a.png': (4, 5), 'b.png': (4, 5)})
    meta = path / 'meta_info.txt'
    lines = meta.read_text().splitlines()
    meta.write_text('\n'.join([lines[0], lines[1].replace('b.png', 'c.png')]) + '\n')
    with pytest.raises(PrepError, match=rf'^LMDB {path} failed verification: the keys differ from the names in '
                                        r'meta_info.txt; entry c decodes to None, meta_info records \(4, 5, 3\)$'):
        create_lmdb.verify_lmdb(path, 2)
    meta.write_text(lines[0] + '\n' + lines[1] + '\n')
    overwrite_entry(path, 'b', cv2.imencode('.png', np.zeros((4, 5), np.uint8))[1].tobytes())
    with pytest.raises(PrepError, match=r'failed verification: entry b decodes to \(4, 5, 1\), meta_info records '
                                        r'\(4, 5, 3\)$'):
        create_lmdb.verify_lmdb(path, 2)
    meta.write_text('')
    with pytest.raises(PrepError, match=r'failed verification: 2 keys, 0 meta_info lines, 2 inputs$'):
        create_lmdb.verify_lmdb(path, 2)


def test_lmdb_keys_that_clash_ignoring_case_are_refused_by_name():
    with pytest.raises(PrepError, match=r'^LMDB input files whose names differ only in extension or case would write '
                                        r'the same output; rename them: A.bmp \+ a.png$'):
        create_lmdb.check_keys(['d/a.png', 'd/A.bmp'])
    with pytest.raises(PrepError, match=r'^input files whose names differ only in extension or case '
                                        r'.*: a.jpg \+ a.png$'):
        refuse_name_clashes(['d/a.png', 'e/a.jpg'])  # the scripts' input folders (extract_subimages, ...)


@pytest.mark.parametrize('a, b', [('Baby', 'baby'), ('é', 'É'), ('ı', 'i'), ('ı', 'I'), ('straße', 'STRASSE'),
                                  ('\u212a', 'k'), ('\u212a', 'K')],
                         ids=['ascii', 'accent', 'dotless-i', 'dotless-I', 'sharp-s', 'kelvin-k', 'kelvin-K'])
def test_names_a_case_insensitive_file_system_takes_for_one_clash(a, b):
    """NTFS compares upper-cased names (``ı`` is ``I``), case folding maps ``ß`` to ``ss`` and the Kelvin sign to
    ``k``: each pair is one name there, so one output would overwrite the other."""
    with pytest.raises(PrepError, match=rf'rename them: {min(a, b)}.png \+ {max(a, b)}.png$'):
        refuse_name_clashes([f'd/{a}.png', f'd/{b}.png'])


@pytest.mark.parametrize('a, b', [('a', 'b'), ('e', 'é'), ('i', 'í'), ('ss', 's'), ('1', '01')])
def test_names_that_differ_beyond_case_do_not_clash(a, b):
    refuse_name_clashes([f'd/{a}.png', f'd/{b}.png'])


def test_the_compression_level_reaches_the_lmdb_entries(tmp_path):
    img = np.zeros((64, 64, 3), np.uint8)
    img[::2] = 255
    (tmp_path / 'in').mkdir()
    cv2.imwrite(str(tmp_path / 'in' / 'a.png'), img)
    sizes = []
    for level in (0, 9):
        path = tmp_path / f'{level}.lmdb'
        create_lmdb.write_lmdb(scan_images([tmp_path / 'in' / 'a.png']), path, level, 1, 'write')
        env = lmdb.open(str(path), readonly=True, lock=False)
        with env.begin() as txn:
            sizes.append(len(txn.get(b'a')))
        env.close()
    assert sizes[0] > 2 * sizes[1], sizes


def test_a_malformed_meta_info_line_is_named_by_its_number(tmp_path):
    path = lmdb_of(tmp_path, 'x', {'a.png': (4, 5)})
    meta = path / 'meta_info.txt'
    meta.write_text(meta.read_text() + 'garbage\n')
    with pytest.raises(PrepError, match=rf"^{path}/meta_info.txt line 2 is malformed: 'garbage'$"):
        create_lmdb.read_meta_info(path)


def _write(folder, sizes):
    write_images(folder, sizes)
    return sorted(folder / name for name in sizes)


# --------------------------------------------------------------------------------- the written pairs
@pytest.mark.parametrize('write', ['benchmark', 'realsr'])
def test_the_compression_level_reaches_the_files(tmp_path, write):
    img = np.zeros((64, 64, 3), np.uint8)
    img[::2] = 255  # compresses well: levels 0 and 9 differ by far
    cv2.imwrite(str(tmp_path / 'x.png'), img)
    cv2.imwrite(str(tmp_path / 'xx4.png'), img[:16, :16])
    sizes = {}
    for level in (0, 9):
        out = tmp_path / str(level)
        for sub in ('HR', 'LR_bicubic/X4', 'lr'):
            (out / sub).mkdir(parents=True)
        if write == 'benchmark':
            task = (str(tmp_path / 'x.png'), str(tmp_path / 'xx4.png'))
            assert prepare_image(task, out, 4, level) == {'name': 'x.png'}
        else:
            task = ('x', str(tmp_path / 'x.png'), str(tmp_path / 'xx4.png'), 'keep', (16, 16))
            assert write_pair(task, out / 'HR', out / 'lr', 4, level) == {'name': 'x'}
        sizes[level] = {p.relative_to(out): p.stat().st_size for p in out.rglob('*.png')}
    assert len(sizes[0]) == 2 and sizes[0].keys() == sizes[9].keys()
    assert all(sizes[0][name] > 2 * sizes[9][name] for name in sizes[0]), sizes
