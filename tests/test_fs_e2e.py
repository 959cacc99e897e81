"""Feature-sharing models through the real entry points: train, checkpoint, resume, test (also as a plain RRDBNet)."""
import copy
import re

import pytest
import torch
from conftest import run_entry, srmodel_test_options, tiny_options

FS_G = {'type': 'FsRRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1, 'num_block': 1,
        'num_grow_ch': 4}
VGG_D = {'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4, 'input_size': 32}
UNET_D = {'type': 'UNetDiscriminatorFA', 'num_in_ch': 8, 'num_feat': 4, 'map_channels': 3, 'input_size': 32}
VARIANTS = {
    'Fs': dict(model_type='FsSRGANModel', network_d=VGG_D, map_gan_opt=None, attention_opt=None),
    'FAFs': dict(model_type='FAFsSRGANModel', network_d=UNET_D),
    'woFs': dict(model_type='FsSRGANModel', network_d=VGG_D, map_gan_opt=None, attention_opt=None,
                 share_extractor=False),
}


def _log(root, name, prefix='train', kind='experiments'):
    return sorted((root / kind / name).glob(f'{prefix}_{name}_*.log'))[-1].read_text()


def _metric(log, name):
    return float(re.search(rf'# {name}: ([0-9.]+)', log).group(1))


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_train_checkpoint_resume_and_test(tiny_data, tmp_path, variant):
    name = f'e2e_{variant}'
    opt = tiny_options(tiny_data, name=name, total_iter=4, network_g=FS_G, **VARIANTS[variant])
    run_entry('train.py', opt, tmp_path)
    models = tmp_path / 'experiments' / name / 'models'
    d_ckpt = torch.load(models / 'net_d_4.pth', weights_only=True)
    assert set(d_ckpt) == ({'params', 'params_extractor'} if variant == 'woFs' else {'params'})
    assert not any(k.startswith('extractor.') or k.startswith('conv_first') for k in d_ckpt['params'])
    g_ckpt = torch.load(models / 'net_g_4.pth', weights_only=True)['params']
    assert 'conv_first.weight' in g_ckpt and not any(k.startswith('extractor.') for k in g_ckpt)  # RRDBNet's names
    if variant == 'woFs':  # the discriminator's own extractor trained apart from the generator's
        g_ext = {k: v for k, v in g_ckpt.items() if k.startswith(('conv_first.', 'body.0.'))}  # E1: conv + block 0
        assert g_ext.keys() == d_ckpt['params_extractor'].keys()
        assert any(not torch.equal(g_ext[k], d_ckpt['params_extractor'][k]) for k in g_ext)
    if variant == 'FAFs':
        assert 'l_g_fine' in _log(tmp_path, name) and 'out_d_map_real' in _log(tmp_path, name)

    resumed = copy.deepcopy(opt)
    resumed['train']['total_iter'] = 6
    run_entry('train.py', resumed, tmp_path, '--auto_resume')
    log = _log(tmp_path, name)
    assert 'Resuming training from epoch: 0, iter: 4.' in log and re.search(r'iter:\s+6,', log)
    assert (models / 'net_g_6.pth').is_file()

    test = srmodel_test_options(tiny_data, f'{name}_test', FS_G, str(models / 'net_g_latest.pth'))
    run_entry('test.py', test, tmp_path, opt_name='test.yml')
    result = _log(tmp_path, f'{name}_test', prefix='test', kind='results')
    assert 0 < _metric(result, 'psnr') < 60 and 0 < _metric(result, 'ssim') <= 1


def test_fs_generator_tests_identically_as_a_plain_rrdbnet(tiny_data, tmp_path):
    opt = tiny_options(tiny_data, name='e2e_plain', total_iter=2, network_g=FS_G, **VARIANTS['Fs'])
    run_entry('train.py', opt, tmp_path)
    fs_path = tmp_path / 'experiments' / 'e2e_plain' / 'models' / 'net_g_latest.pth'
    rrdbnet = {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 2, 'num_grow_ch': 4}
    results = {}
    for label, net in (('fs', FS_G), ('plain', rrdbnet)):  # the same checkpoint, strict_load_g: true
        run_entry('test.py', srmodel_test_options(tiny_data, f'as_{label}', net, str(fs_path)), tmp_path,
                  opt_name=f'{label}.yml')
        results[label] = _log(tmp_path, f'as_{label}', prefix='test', kind='results')
    assert _metric(results['fs'], 'psnr') == _metric(results['plain'], 'psnr')
    assert _metric(results['fs'], 'ssim') == _metric(results['plain'], 'ssim')
