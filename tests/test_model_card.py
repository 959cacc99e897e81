"""fasrgan-export's model card (interop/model_card.py): OpenModelDB's fields filled from the checkpoint's run and its
option file, nothing invented for a generator from elsewhere, and a train → export → spandrel round trip that keeps it.
"""
import hashlib
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import spandrel
import torch
import yaml
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.utils.options import copy_opt_file, dict2str
from conftest import run_entry
from safetensors import safe_open
from test_realesrgan_fa import hr_folder, realesrgan_options  # noqa: F401  (hr_folder: a fixture)

from fasrgan_basicsr.cli import export
from fasrgan_basicsr.interop import model_card
from fasrgan_basicsr.utils.cli import run_cli

#: OpenModelDB's model fields (src/lib/schema.ts: Model and ExtraModelProperties)
OPENMODELDB_FIELDS = {'name', 'author', 'license', 'tags', 'description', 'date', 'architecture', 'size', 'scale',
                      'inputChannels', 'outputChannels', 'resources', 'images', 'trainingIterations',
                      'trainingEpochs', 'trainingBatchSize', 'trainingHRSize', 'trainingOTF', 'dataset', 'datasetSize',
                      'pretrainedModelG', 'pretrainedModelD'}
TRAINING_FIELDS = ('trainingIterations', 'trainingBatchSize', 'trainingHRSize', 'trainingOTF', 'dataset',
                   'datasetSize')


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_export(*args):
    return run_cli(export.main, [str(a) for a in args])


# ------------------------------------------------------------------------------------------------ pieces
def test_the_option_dump_of_a_training_log_reads_back_as_the_options():
    opt = {'name': 'x', 'model_type': 'RealESRGANFAModel', 'gt_size': 256, 'resize_prob': [0.2, 0.7, 0.1],
           'datasets': {'train': {'name': 'DIV2K', 'batch_size_per_gpu': 12, 'meta_info': None, 'io_backend':
                                  {'type': 'disk'}}, 'val': {}},
           'train': {'total_iter': 400000, 'optim_g': {'lr': 0.0001, 'betas': [0.9, 0.99]}},
           'dist': False, 'rank': 0, 'world_size': 1, 'num_gpu': 0, 'path': {'models': '/a: b/models'}}
    log = ('2026-01-01 10:00:00,000 INFO: \n   version info\n2026-01-01 10:00:00,001 INFO: ' + dict2str(opt) +
           '2026-01-01 10:00:01,000 INFO: Dataset [RealESRGANDataset] - x is built.\n')
    assert model_card.parse_option_dump(log) == opt
    assert model_card.parse_option_dump('no options here\n') is None


def test_the_copied_option_file_hashes_as_the_users_file(tmp_path):
    original = tmp_path / 'train_X.yml'
    original.write_text('# header of the user\nname: X\ntrain:\n  total_iter: 9\n')
    (tmp_path / 'exp').mkdir()
    copy_opt_file(str(original), str(tmp_path / 'exp'))  # BasicSR's: adds GENERATE TIME and CMD lines
    copied = tmp_path / 'exp' / 'train_X.yml'
    assert copied.read_text() != original.read_text()
    text, command = model_card.option_text(copied)
    assert text == original.read_text() and command is not None
    assert hashlib.sha256(text.encode()).hexdigest() == sha256(original)


@pytest.mark.parametrize('text', ['MIT', 'CC-BY-NC-SA-4.0', 'Apache-2.0 OR MIT', 'LicenseRef-mine'])
def test_licences_are_spdx_expressions(text):
    assert model_card.check_license(text) == text


def test_a_bad_licence_is_one_line_exit_2(tmp_path, capsys):
    torch.save({'params': RRDBNet(3, 3, num_feat=8, num_block=1, num_grow_ch=32).state_dict()}, tmp_path / 'g.pth')
    assert run_export('-i', tmp_path / 'g.pth', '-o', tmp_path / 'out', '--license', 'my licence!') == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and "--license: expected an SPDX licence identifier" in err and 'my licence!' in err
    assert not (tmp_path / 'out').exists()


# ------------------------------------------------------------------------------------------------ no run
def test_a_downloaded_generator_gets_what_its_weights_say_and_nothing_else(tmp_path):
    torch.manual_seed(0)
    net = RRDBNet(3, 3, num_feat=8, num_block=2, num_grow_ch=32)
    torch.save({'params_ema': net.state_dict()}, tmp_path / 'RealESRGAN_x4plus.pth')
    out = tmp_path / 'out'
    assert run_export('-i', tmp_path / 'RealESRGAN_x4plus.pth', '-o', out, '--format', 'safetensors', 'pth') == 0
    assert sorted(os.listdir(out)) == ['RealESRGAN_x4plus' + s for s in (
        '.json', '.md', '.pth', '.safetensors', '_example.png', '_example_lr.png', '_example_sr.png')]
    card = json.loads((out / 'RealESRGAN_x4plus.json').read_text())
    assert OPENMODELDB_FIELDS <= set(card) and set(card) - OPENMODELDB_FIELDS == {'fasrgan_basicsr'}
    assert (card['name'], card['architecture'], card['size'], card['scale']) == ('RealESRGAN_x4plus', 'esrgan',
                                                                               ['8nf', '2nb'], 4)
    assert (card['inputChannels'], card['outputChannels']) == (3, 3)
    assert all(card[k] is None for k in TRAINING_FIELDS + ('author', 'license', 'date', 'trainingEpochs'))
    assert card['tags'] == [] and card['description'] == ''
    extra = card['fasrgan_basicsr']
    assert extra['optionFile'] is None and extra['optionFileSha256'] is None and extra['modelType'] is None
    assert extra['sources'] == {} and extra['checkpointSha256'] == sha256(tmp_path / 'RealESRGAN_x4plus.pth')
    assert extra['parameters'] == sum(p.numel() for p in net.parameters())
    pth = out / 'RealESRGAN_x4plus.pth'
    assert card['resources'] == [{'platform': 'pytorch', 'type': 'pth', 'size': os.path.getsize(pth),
                                  'sha256': sha256(pth), 'urls': []}]
    assert card['images'] == [{'type': 'paired', 'LR': 'RealESRGAN_x4plus_example_lr.png',
                               'SR': 'RealESRGAN_x4plus_example_sr.png'}]
    lr, sr = (cv2.imread(str(out / f'RealESRGAN_x4plus_example_{k}.png')) for k in ('lr', 'sr'))
    assert lr.shape == (48, 48, 3) and sr.shape == (192, 192, 3)
    card_md = (out / 'RealESRGAN_x4plus.md').read_text()
    assert 'Weights only: the training run is not known.' in card_md
    assert '| training iterations | – (not known) |' in card_md and '| size | 8nf, 2nb |' in card_md
    assert '![Input (a crop of scikit-image' in card_md and '(RealESRGAN_x4plus_example.png)' in card_md


def test_no_card_and_an_existing_card_file(tmp_path, capsys):
    torch.save({'params': RRDBNet(3, 3, num_feat=8, num_block=1, num_grow_ch=32).state_dict()}, tmp_path / 'g.pth')
    out = tmp_path / 'out'
    assert run_export('-i', tmp_path / 'g.pth', '-o', out, '--format', 'pth', '--no_card') == 0
    assert os.listdir(out) == ['g.pth']
    (out / 'g.md').write_text('mine')
    os.remove(out / 'g.pth')
    assert run_export('-i', tmp_path / 'g.pth', '-o', out, '--format', 'pth') == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'g.md: exists; pass --overwrite to replace it.' in err
    assert os.listdir(out) == ['g.md'] and (out / 'g.md').read_text() == 'mine'
    assert run_export('-i', tmp_path / 'g.pth', '-o', out, '--no_card', '--license', 'MIT') == 2
    assert '--no_card: --license is for the card' in capsys.readouterr().err


def test_without_a_log_the_copied_file_and_its_commands_force_yml_are_read(tmp_path):
    """A run folder as BasicSR leaves it when the log is gone: the option file BasicSR copied (with its header) and
    the --force_yml of that header (total_iter 7, not the file's 400000), net_g_latest.pth = the end of training."""
    root = tmp_path / 'experiments' / 'mine'
    (root / 'models').mkdir(parents=True)
    user_file = tmp_path / 'train_mine.yml'
    user_file.write_text('name: mine\nmodel_type: SRGANModel\nnum_gpu: 2\nscale: 4\ndatasets:\n  train:\n'
                         '    name: DIV2K800\n    gt_size: 128\n    batch_size_per_gpu: 16\n    dataroot_gt: hr\n'
                         'train:\n  total_iter: 400000\n')
    (root / 'train_mine.yml').write_text(
        '# GENERATE TIME: Thu Jan  1 00:00:00 2026\n# CMD:\n# fasrgan_basicsr/train.py -opt train_mine.yml '
        '--force_yml train:total_iter=7 --auto_resume\n\n' + user_file.read_text())
    (tmp_path / 'hr').mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / 'hr' / f'{i}.png'), np.zeros((4, 4, 3), np.uint8))
    torch.save({'params': RRDBNet(3, 3, num_feat=8, num_block=1, num_grow_ch=32).state_dict()},
               root / 'models' / 'net_g_latest.pth')
    card = model_card.model_card(str(root / 'models' / 'net_g_latest.pth'),
                                 dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, scale=4, num_feat=8, num_block=1,
                                      num_grow_ch=32), {}, 1, [])
    assert card['trainingIterations'] == 7 and card['trainingHRSize'] == 128 and card['trainingOTF'] is False
    assert card['trainingBatchSize'] == 32  # BasicSR's loader: batch_size_per_gpu × num_gpu without a launcher
    assert card['dataset'] == 'DIV2K800' and card['datasetSize'] == 3  # counted in the run's root, now
    assert card['fasrgan_basicsr']['optionFileSha256'] == sha256(user_file)
    assert card['fasrgan_basicsr']['sources']['trainingIterations'].startswith('train:total_iter (train_mine.yml)')


# ------------------------------------------------------------------------------------------------ round trip
@pytest.mark.subprocess
def test_train_export_and_spandrel_keep_the_card(tmp_path, tiny_data, hr_folder):  # noqa: F811
    """A RealESRGAN_FA run (the pooled head, 2 iterations forced over the file's 3) → fasrgan-export → spandrel: the
    card's fields are what the run's option file says, and the exported weights carry the same card."""
    opt = realesrgan_options(tiny_data, name='card_run', total_iter=3, hr=hr_folder)
    opt['network_g']['num_grow_ch'] = 32  # what spandrel's ESRGAN detection assumes
    opt['network_d'].update(score_head='pooled', input_size=None)
    opt['logger']['save_checkpoint_freq'] = 2
    opt['val']['val_freq'] = 10
    run_entry('train.py', opt, tmp_path, '--force_yml', 'train:total_iter=2', opt_name='train_card.yml')
    run = tmp_path / 'experiments' / 'card_run'
    models = run / 'models'
    assert {'net_g_2.pth', 'net_g_latest.pth'} <= set(os.listdir(models))
    out = tmp_path / 'published'
    for checkpoint in ('net_g_2.pth', 'net_g_latest.pth'):
        assert run_export('-i', models / checkpoint, '-o', out, '--format', 'safetensors', 'pth',
                          '--license', 'CC-BY-NC-SA-4.0') == 0
    written = yaml.safe_load((tmp_path / 'train_card.yml').read_text())
    train = written['datasets']['train']
    for stem in ('net_g_2', 'net_g_latest'):
        card = json.loads((out / f'{stem}.json').read_text())
        assert card['trainingIterations'] == 2  # the name; for latest, total_iter as forced in the run's log
        assert card['trainingHRSize'] == written['gt_size'] == 32  # Real-ESRGAN crops to the top-level gt_size
        assert card['trainingBatchSize'] == train['batch_size_per_gpu'] == 2
        assert card['trainingOTF'] is True
        assert card['dataset'] == train['name'] == 'tiny_hr'
        assert card['datasetSize'] == len((hr_folder / 'meta_info.txt').read_text().split()) == 2
        assert card['license'] == 'CC-BY-NC-SA-4.0' and card['name'] == 'card_run'
        assert (card['architecture'], card['size'], card['scale']) == ('esrgan', ['8nf', '1nb'], 4)
        extra = card['fasrgan_basicsr']
        assert extra['optionFile'] == 'train_card.yml' and extra['modelType'] == 'RealESRGANFAModel'
        assert extra['optionFileSha256'] == sha256(tmp_path / 'train_card.yml')
        assert extra['checkpointSha256'] == sha256(models / f'{stem}.pth')
        assert card['resources'][0]['sha256'] == sha256(out / f'{stem}.pth')
        assert 'train_card.yml' in card['description'] and '2 iterations' in card['description']
        # spandrel reads the exported weights as the card describes them, and the weights carry the card
        loaded = spandrel.ModelLoader().load_from_file(str(out / f'{stem}.safetensors'))
        assert loaded.architecture.id.lower() == card['architecture'] and loaded.scale == card['scale']
        assert set(card['size']) <= set(loaded.tags)
        assert sum(p.numel() for p in loaded.model.parameters()) == extra['parameters']
        with safe_open(str(out / f'{stem}.safetensors'), 'pt') as f:
            assert json.loads(f.metadata()['model_card']) == card
        card_md = (out / f'{stem}.md').read_text()
        for row in ('| training iterations | 2 |', '| training batch size | 2 |', '| training HR size | 32 |',
                    '| degradations on the fly | yes |', '| dataset | tiny_hr |', '| licence | CC-BY-NC-SA-4.0 |',
                    f'| option file SHA-256 | {extra["optionFileSha256"]} |', '| model type | RealESRGANFAModel |'):
            assert row in card_md, row
