"""datasets_prep pairs HR and LR by name, never by position, and its verification can tell a wrong pair.

Every image here is small random noise, different for every name, so a pair that holds another image's LR is
caught by its pixels even where the sizes agree.
"""
import hashlib
import shutil
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest
from test_datasets_prep import digest, lmdb_image, matlab_bicubic, paired_dataset, run_main

from fasrgan_basicsr.datasets_prep import (
    create_lmdb,
    extract_subimages,
    generate_bicubic_lr,
    prepare_benchmarks,
    prepare_realsr,
)
from fasrgan_basicsr.datasets_prep.common import PrepError


def noise(name, height=16, width=16):
    """A BGR noise image that is the same for the same name and differs between names."""
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], 'little')
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def write_images(folder, sizes):
    """``{file name: (h, w)}`` -> noise images in ``folder``; returns ``{file name: image}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = {}
    for name, (height, width) in sizes.items():
        images[name] = noise(name, height, width)
        assert cv2.imwrite(str(folder / name), images[name])
    return images


def lmdb_keys(path):
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        keys = sorted(bytes(k).decode() for k in txn.cursor().iternext(values=False))
    env.close()
    return keys


# ------------------------------------------------------------------------------------------- benchmark LMDB pairs
def test_benchmark_lmdb_pairs_names_that_are_prefixes_of_each_other_by_name(tmp_path):
    """``1``, ``10``, ``2``: the LR files sort as ``10x4, 1x4, 2x4``; key ``1`` must still hold the LR of ``1``."""
    hr = write_images(tmp_path / 'dl' / 'Set5' / 'HR', {f'{n}.png': (16, 16) for n in ('1', '10', '2')})
    out = tmp_path / 'out'
    code, stdout, stderr = run_main(prepare_benchmarks, '--input', tmp_path / 'dl', '--output', out, '--lmdb',
                                    '--workers', 1)
    assert code == 0, stderr
    assert 'Set5: 3 pairs, LR generated (bicubic) for all 3, LMDBs verified' in stdout
    for stem in ('1', '10', '2'):
        assert np.array_equal(lmdb_image(out / 'Set5' / 'HR.lmdb', stem), hr[f'{stem}.png'])
        assert np.array_equal(lmdb_image(out / 'Set5' / 'LR_bicubic_X4.lmdb', stem),
                              matlab_bicubic(hr[f'{stem}.png'], 4))
    dataset = paired_dataset(out / 'Set5' / 'HR.lmdb', out / 'Set5' / 'LR_bicubic_X4.lmdb', 4)
    for item in (dataset[i] for i in range(len(dataset))):
        gt = (item['gt'].numpy().transpose(1, 2, 0)[:, :, ::-1] * 255).round().astype(np.uint8)
        lq = (item['lq'].numpy().transpose(1, 2, 0)[:, :, ::-1] * 255).round().astype(np.uint8)
        assert np.array_equal(gt, hr[f'{item["gt_path"]}.png'])
        assert np.array_equal(lq, matlab_bicubic(hr[f'{item["lq_path"]}.png'], 4))


def test_benchmark_lmdb_accepts_prefix_names_of_different_sizes(tmp_path):
    hr = write_images(tmp_path / 'dl' / 'Set14', {'astronaut.png': (16, 16), 'astronaut_b.png': (24, 32)})
    out = tmp_path / 'out'
    code, stdout, stderr = run_main(prepare_benchmarks, '--input', tmp_path / 'dl', '--output', out, '--lmdb',
                                    '--workers', 1)
    assert code == 0, stderr
    assert 'Set14: 2 pairs, LR generated (bicubic) for all 2, LMDBs verified' in stdout
    assert lmdb_image(out / 'Set14' / 'LR_bicubic_X4.lmdb', 'astronaut_b').shape == (6, 8, 3)
    assert np.array_equal(lmdb_image(out / 'Set14' / 'LR_bicubic_X4.lmdb', 'astronaut'),
                          matlab_bicubic(hr['astronaut.png'], 4))


@pytest.mark.parametrize('naming', ['{}x4', '{}_x4', '{}'])
def test_shipped_lr_is_matched_by_name_under_the_folder_naming(tmp_path, naming):
    """HR ``a``, ``ax4``, ``1``, ``10``: under every naming each HR gets its own shipped LR, never a neighbour's."""
    stems = ('a', 'ax4', '1', '10')
    write_images(tmp_path / 'dl' / 'BSD100' / 'HR', {f'{s}.png': (16, 16) for s in stems})
    shipped = write_images(tmp_path / 'dl' / 'BSD100' / 'LR_bicubic' / 'X4',
                           {naming.format(s) + '.png': (4, 4) for s in stems})
    out = tmp_path / 'out'
    code, stdout, stderr = run_main(prepare_benchmarks, '--input', tmp_path / 'dl', '--output', out, '--lmdb',
                                    '--workers', 1)
    assert code == 0, stderr
    assert 'BSD100: 4 pairs, LR shipped for 4, generated for 0, LMDBs verified' in stdout
    for stem in stems:
        expected = shipped[naming.format(stem) + '.png']
        assert np.array_equal(cv2.imread(str(out / 'BSD100' / 'LR_bicubic' / 'X4' / f'{stem}x4.png')), expected)
        assert np.array_equal(lmdb_image(out / 'BSD100' / 'LR_bicubic_X4.lmdb', stem), expected)


def test_shipped_lr_whose_naming_is_ambiguous_is_refused(tmp_path):
    """HR ``a`` and ``ax4`` with one shipped ``ax4.png``: the LR of ``a`` (x4 naming) or of ``ax4`` (same name)?"""
    write_images(tmp_path / 'dl' / 'BSD100' / 'HR', {'a.png': (16, 16), 'ax4.png': (16, 16)})
    lr_dir = tmp_path / 'dl' / 'BSD100' / 'LR_bicubic' / 'X4'
    write_images(lr_dir, {'ax4.png': (4, 4)})
    code, _, stderr = run_main(prepare_benchmarks, '--input', tmp_path / 'dl', '--output', tmp_path / 'out')
    assert code == 2
    assert stderr == (f"error: {lr_dir}: cannot tell how the shipped LR files are named: the namings '{{}}x4.png' and "
                      f"'{{}}.png' each match 1 HR image(s); rename them consistently or pass --regenerate-lr\n")
    assert not (tmp_path / 'out').exists()


# ---------------------------------------------------------------------------------------------- the verification
def test_entry_holding_another_image_of_the_same_size_fails_verification(tmp_path):
    """The old positional pairing, rebuilt by hand: LR files listed in sort order, keys from the HR names' order."""
    lr_dir = tmp_path / 'LR'
    write_images(lr_dir, {f'{s}x4.png': (4, 4) for s in ('1', '10', '2')})
    listed = create_lmdb.scan_images(create_lmdb.list_images(lr_dir))  # 10x4, 1x4, 2x4
    by_position = dict(zip((p.path for p in listed), ['1', '10', '2']))  # key '1' -> 10x4.png
    create_lmdb.write_lmdb(listed, tmp_path / 'lr.lmdb', 1, 1, 'write', key_of=by_position.__getitem__)
    with pytest.raises(PrepError, match=r'the entries of key\(s\) 1, 10 differ from the files of those names'):
        create_lmdb.verify_entries_match_files(tmp_path / 'lr.lmdb', lambda key: lr_dir / f'{key}x4.png')
    shutil.copytree(tmp_path / 'lr.lmdb', tmp_path / 'same_sizes.lmdb')
    create_lmdb.verify_pair(tmp_path / 'lr.lmdb', tmp_path / 'same_sizes.lmdb', 1)  # shapes alone cannot tell


def make_lmdb(path, sizes):
    """An LMDB of noise images ``{key: (h, w)}`` written by create_lmdb's own writer."""
    folder = path.with_suffix('.src')
    write_images(folder, {f'{key}.png': size for key, size in sizes.items()})
    create_lmdb.write_lmdb(create_lmdb.scan_images(create_lmdb.list_images(folder)), path, 1, 1, 'write')
    return path


def test_pair_verification_demands_gt_exactly_scale_times_lq(tmp_path):
    gt = make_lmdb(tmp_path / 'gt.lmdb', {'a': (48, 48), 'b': (49, 48), 'c': (48, 44)})
    lq = make_lmdb(tmp_path / 'lq.lmdb', {'a': (12, 12), 'b': (12, 12), 'c': (12, 12)})
    with pytest.raises(PrepError) as raised:
        create_lmdb.verify_pair(gt, lq, 4)
    assert str(raised.value) == (f'GT is not exactly x4 its LQ for key(s) b (GT 48x49x3, LQ 12x12x3), '
                                 f'c (GT 44x48x3, LQ 12x12x3) ({gt}, {lq})')
    good_gt = make_lmdb(tmp_path / 'good_gt.lmdb', {'a': (48, 48), 'b': (48, 40)})
    good_lq = make_lmdb(tmp_path / 'good_lq.lmdb', {'a': (12, 12), 'b': (12, 10)})
    create_lmdb.verify_pair(good_gt, good_lq, 4)
    with pytest.raises(PrepError, match=r'for key\(s\) a \(GT 48x48x3, LQ 12x12x3\), b'):
        create_lmdb.verify_pair(good_gt, good_lq, 2)


def test_pair_verification_decodes_entries_instead_of_trusting_meta_info(tmp_path):
    gt = make_lmdb(tmp_path / 'gt.lmdb', {'a': (48, 48)})
    lq = make_lmdb(tmp_path / 'lq.lmdb', {'a': (11, 12)})
    meta = lq / 'meta_info.txt'
    meta.write_text(meta.read_text().replace('(11,12,3)', '(12,12,3)'))  # meta_info claims the right size
    with pytest.raises(PrepError, match=r'key\(s\) a \(GT 48x48x3, LQ 12x11x3\)'):
        create_lmdb.verify_pair(gt, lq, 4)


# ------------------------------------------------------------------------------------------------- name clashes
def test_benchmark_names_differing_only_in_extension_are_refused_before_writing(tmp_path):
    """``a.png`` + ``a.bmp`` both become ``HR/a.png``: today one silently replaces the other."""
    write_images(tmp_path / 'dl' / 'Set5', {'a.png': (16, 16), 'a.bmp': (16, 16), 'b.png': (16, 16)})
    code, _, stderr = run_main(prepare_benchmarks, '--input', tmp_path / 'dl', '--output', tmp_path / 'out')
    assert code == 2
    assert stderr == ('error: Set5 HR files whose names differ only in extension or case would write the same '
                      'output; rename them: a.bmp + a.png\n')
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('module', [generate_bicubic_lr, extract_subimages, create_lmdb])
def test_names_differing_only_in_case_or_extension_are_refused(module, tmp_path):
    images = tmp_path / 'in'
    write_images(images, {'Baby.png': (16, 16), 'baby.png': (16, 16), 'bird.png': (16, 16), 'bird.jpg': (16, 16)})
    before = digest(images)
    output = tmp_path / ('out.lmdb' if module is create_lmdb else 'out')
    extra = ['--crop-size', 8, '--step', 8] if module is extract_subimages else []
    code, _, stderr = run_main(module, '--input', images, '--output', output, *extra)
    assert code == 2
    assert stderr.startswith('error: ') and stderr.count('\n') == 1
    assert 'differ only in extension or case' in stderr and 'Baby.png + baby.png, bird.jpg + bird.png' in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in'] and digest(images) == before


def test_realsr_two_files_for_one_pair_are_refused(tmp_path):
    folder = tmp_path / 'RealSR(V3)' / 'Canon' / 'Test' / '4'
    write_images(folder, {'Canon_001_HR.png': (16, 16), 'Canon_001_HR.bmp': (16, 16), 'Canon_001_LR4.png': (4, 4)})
    code, _, stderr = run_main(prepare_realsr, '--input', tmp_path / 'RealSR(V3)', '--output', tmp_path / 'out',
                               '--splits', 'test')
    assert code == 2
    assert f'{folder / "Canon_001"}: two HR files, Canon_001_HR.bmp and Canon_001_HR.png' in stderr
    assert not (tmp_path / 'out').exists()


# ------------------------------------------------------------------------------------- RealSR crops keep alignment
def test_realsr_pairs_that_need_cropping_keep_the_top_left_aligned_pixels(tmp_path):
    """A pair whose HR is not a multiple of 4 is cropped at the bottom/right in HR and LR alike: the pixels kept are
    the top-left ones that the LR pixels were made from (a crop from the other corner shifts every pair)."""
    source, out = tmp_path / 'RealSR(V3)', tmp_path / 'out'
    # test: HR 66x83, LR 17x21 (rounded up): LR cropped to 16x20, HR to 64x80
    test_pair = write_images(source / 'Canon' / 'Test' / '4', {'Canon_001_HR.png': (66, 83),
                                                               'Canon_001_LR4.png': (17, 21)})
    # train: HR 51x50, LR 13x13 (rounded up): LR cropped to 12x12, HR to 48x48; sub-images 16 every 16 -> 3 x 3
    train_pair = write_images(source / 'Canon' / 'Train' / '4', {'Canon_002_HR.png': (51, 50),
                                                                 'Canon_002_LR4.png': (13, 13)})
    code, _, stderr = run_main(prepare_realsr, '--input', source, '--output', out, '--crop-size', 16, '--step', 16,
                               '--workers', 1)
    assert code == 0, stderr
    assert 'test: 1 pair(s) cropped to exactly x4: Canon_001 (HR 83x66 -> 80x64)' in stderr
    assert 'train: 1 pair(s) cropped to exactly x4: Canon_002 (HR 50x51 -> 48x48)' in stderr

    hr, lr = test_pair['Canon_001_HR.png'], test_pair['Canon_001_LR4.png']
    assert np.array_equal(cv2.imread(str(out / 'test' / 'HR' / 'Canon_001.png')), hr[:64, :80])
    assert np.array_equal(cv2.imread(str(out / 'test' / 'LR_x4' / 'Canon_001.png')), lr[:16, :20])

    hr, lr = train_pair['Canon_002_HR.png'], train_pair['Canon_002_LR4.png']
    gt_lmdb, lq_lmdb = out / 'train_HR_sub.lmdb', out / 'train_LR_x4_sub.lmdb'
    assert lmdb_keys(gt_lmdb) == lmdb_keys(lq_lmdb) == [f'Canon_002_s00{k}' for k in range(1, 10)]
    for k in range(9):
        row, col = divmod(k, 3)
        key = f'Canon_002_s00{k + 1}'
        assert np.array_equal(lmdb_image(gt_lmdb, key), hr[16 * row:16 * row + 16, 16 * col:16 * col + 16]), key
        assert np.array_equal(lmdb_image(lq_lmdb, key), lr[4 * row:4 * row + 4, 4 * col:4 * col + 4]), key
