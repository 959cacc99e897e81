"""The real entry points end to end on CPU: train, checkpoint, --auto_resume, then test with SRModel."""
import copy
import re

import pytest
import torch
from conftest import run_entry, srmodel_test_options, tiny_options


def _log(root, name, prefix='train'):
    logs = sorted((root / 'experiments' / name).glob(f'{prefix}_{name}_*.log'))
    return logs[-1].read_text()


def test_fasrgan_trains_checkpoints_resumes_and_tests(tiny_data, tmp_path):
    opt = tiny_options(tiny_data, name='e2e_fasrgan', total_iter=4)
    run_entry('train.py', opt, tmp_path)
    exp = tmp_path / 'experiments' / 'e2e_fasrgan'
    assert {p.name for p in (exp / 'models').iterdir()} == {
        'net_g_2.pth', 'net_g_4.pth', 'net_g_latest.pth', 'net_d_2.pth', 'net_d_4.pth', 'net_d_latest.pth'}
    assert {p.name for p in (exp / 'training_states').iterdir()} == {'2.state', '4.state'}
    first = _log(tmp_path, 'e2e_fasrgan')
    for term in ('l_g_pix', 'l_g_gan', 'l_g_fine', 'l_g_attention', 'l_d_real', 'l_d_fake', 'l_d_map_real',
                 'l_d_map_fake', 'out_d_map_real', 'out_d_map_fake'):
        assert term in first
    assert 'Validation tiny_val' in first and '# psnr:' in first
    ckpt = torch.load(exp / 'models' / 'net_g_4.pth', weights_only=True)
    assert set(ckpt) == {'params', 'params_ema'}

    # continue to 6 iterations from the newest state, on CPU
    resumed = copy.deepcopy(opt)
    resumed['train']['total_iter'] = 6
    run_entry('train.py', resumed, tmp_path, '--auto_resume')
    second = _log(tmp_path, 'e2e_fasrgan')
    assert 'Resuming training from epoch: 0, iter: 4.' in second
    assert re.search(r'iter:\s+5,', second) and re.search(r'iter:\s+6,', second)
    assert not re.search(r'iter:\s+[1-4],', second)  # nothing retrained
    assert (exp / 'models' / 'net_g_6.pth').is_file() and (exp / 'training_states' / '6.state').is_file()
    # the resumed run started from iteration 4's weights: its lr schedule continued (milestone 3 → halved)
    assert 'lr:(5.000e-04,)' in second

    # BasicSR's plain SRModel evaluates the trained generator through the real test pipeline
    test = srmodel_test_options(tiny_data, 'e2e_fasrgan_test', opt['network_g'],
                                str(exp / 'models' / 'net_g_latest.pth'))
    run_entry('test.py', test, tmp_path, opt_name='test.yml')
    result = (sorted((tmp_path / 'results' / 'e2e_fasrgan_test').glob('test_*.log'))[-1]).read_text()
    psnr = float(re.search(r'# psnr: ([0-9.]+)', result).group(1))
    ssim = float(re.search(r'# ssim: ([0-9.]+)', result).group(1))
    assert 0 < psnr < 60 and 0 < ssim <= 1
    assert (tmp_path / 'results' / 'e2e_fasrgan_test' / 'visualization' / 'tiny_val').is_dir()


@pytest.mark.parametrize('variant', ['SRGAN_FA', 'woFA'])
def test_variants_train(tiny_data, tmp_path, variant):
    if variant == 'SRGAN_FA':
        msr = {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'upscale': 4}
        opt = tiny_options(tiny_data, name='e2e_srgan_fa', model_type='SRGANFAModel', total_iter=2, network_g=msr)
    else:
        opt = tiny_options(tiny_data, name='e2e_wofa', total_iter=2, map_gan_opt=None, attention_opt=None)
    run_entry('train.py', opt, tmp_path)
    log = _log(tmp_path, opt['name'])
    assert re.search(r'iter:\s+2,', log)
    assert ('l_g_fine' in log) == (variant == 'SRGAN_FA')


def test_bad_options_are_reported_together_before_any_work(tiny_data, tmp_path):
    opt = tiny_options(tiny_data, name='e2e_bad')
    opt['datasets']['train']['gt_size'] = 48  # the discriminator head is built for 32
    opt['train']['attention_opt']['type'] = 'AttentionL2Loss'
    opt['network_g']['type'] = 'RRDBNets'
    opt['datasets']['val']['dataroot_gt'] = str(tmp_path / 'nowhere' / 'HR')
    proc = run_entry('train.py', opt, tmp_path, check=False)
    assert proc.returncode == 2
    err = proc.stderr
    assert '4 problem(s)' in err and 'Traceback' not in err
    assert "network_d:input_size: UNetDiscriminatorFA is built for 32×32 inputs but datasets:train:gt_size is 48" in err
    assert "train:attention_opt:type: unknown loss 'AttentionL2Loss'" in err and 'Did you mean AttentionL1Loss' in err
    assert "network_g:type: unknown arch 'RRDBNets'" in err and 'Did you mean RRDBNet' in err
    assert f"datasets:val:dataroot_gt: '{tmp_path / 'nowhere' / 'HR'}' does not exist" in err
    assert not (tmp_path / 'experiments' / 'e2e_bad').exists()
