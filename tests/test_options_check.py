"""check_options: each problem named with its key path; all reported at once."""
import os
from urllib.error import URLError

import torch
from conftest import tiny_options

from fasrgan_basicsr.pipeline.options_check import OptionsError, check_options, vgg_weights_problem


def problems(opt):
    try:
        check_options(opt, 'x.yml')
    except OptionsError as err:
        one = len(err.problems) == 1
        assert str(err) == f'x.yml: {err.problems[0]}' if one else str(err).startswith(
            f'x.yml: {len(err.problems)} problem(s):')
        return err.problems
    return []


def test_a_good_option_dict_passes(tiny_data):
    assert problems(tiny_options(tiny_data)) == []


def test_discriminator_default_input_size_is_checked(tiny_data):
    opt = tiny_options(tiny_data)
    del opt['network_d']['input_size']  # UNetDiscriminatorFA's default is 128, the data crops 32
    assert problems(opt) == ['network_d:input_size: UNetDiscriminatorFA is built for 128×128 inputs but '
                             'datasets:train:gt_size is 32; make them equal.']
    opt['network_d'] = {'type': 'VGGStyleDiscriminator', 'num_in_ch': 3, 'num_feat': 4}  # BasicSR's, default 128
    assert 'VGGStyleDiscriminator is built for 128×128' in problems(opt)[0]


def test_the_pooled_head_takes_any_size_that_is_a_multiple_of_8(tiny_data):
    """The check asks the arch (``fixed_input_size``) rather than reading input_size itself."""
    opt = tiny_options(tiny_data)
    opt['network_d'].update(score_head='pooled', input_size=None)
    assert problems(opt) == []
    opt['network_d']['input_size'] = 128  # not read by the pooled head
    assert problems(opt) == []
    opt['datasets']['train']['gt_size'] = 36
    assert problems(opt) == ['datasets:train:gt_size: 36 is not a multiple of 8, which UNetDiscriminatorFA needs '
                             'of its inputs.']
    opt['datasets']['train']['gt_size'] = 32
    opt['network_d'].update(score_head='fc', input_size=None)  # the paper's head needs its size
    assert problems(opt) == ['network_d:input_size: UNetDiscriminatorFA: the fully connected score head (score_head: '
                             'fc) is built for one input size: a positive multiple of 8 equal to the patch size, got '
                             'None.']
    del opt['network_d']['input_size']  # its default, 128, is read
    assert problems(opt) == ['network_d:input_size: UNetDiscriminatorFA is built for 128×128 inputs but '
                             'datasets:train:gt_size is 32; make them equal.']
    opt['network_d']['score_head'] = 'pool'
    assert problems(opt) == ["network_d:score_head: expected one of fc, pooled, got 'pool'."]


def test_names_weights_and_paths(tiny_data, tmp_path):
    opt = tiny_options(tiny_data)
    opt['model_type'] = 'FASRGANModle'
    opt['train']['gan_opt']['loss_weight'] = -5e-3
    opt['val']['metrics']['psnr']['type'] = 'calculate_psnrr'
    opt['datasets']['train']['type'] = 'PairedImageDatset'
    opt['datasets']['train']['dataroot_lq'] = str(tmp_path / 'missing')
    found = problems(opt)
    assert len(found) == 5
    assert "model_type: unknown model 'FASRGANModle'" in found[0] and 'Did you mean FASRGANModel' in found[0]
    assert 'train:gan_opt:loss_weight: expected a number >= 0, got -0.005.' in found
    assert any(p.startswith("val:metrics:psnr:type: unknown metric 'calculate_psnrr'") for p in found)
    assert any(p.startswith("datasets:train:type: unknown dataset 'PairedImageDatset'") for p in found)
    assert f"datasets:train:dataroot_lq: '{tmp_path / 'missing'}' does not exist (the fasrgan-prepare-* commands " \
           "build the paper's datasets)." in found


def test_missing_vgg_weights_offline_is_a_clear_error(tmp_path, monkeypatch):
    import torchvision.models.vgg as vgg

    def offline(*args, **kwargs):
        raise URLError('no network')

    monkeypatch.setattr(vgg.VGG19_Weights.IMAGENET1K_V1, 'get_state_dict', offline, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    problem = vgg_weights_problem('vgg19')
    assert problem == ('the VGG19 weights are not on this machine and could not be downloaded (URLError: <urlopen '
                       f'error no network>); put vgg19-dcbb9e9d.pth in {tmp_path}/torch_home/hub/checkpoints/'
                       'vgg19-dcbb9e9d.pth or in experiments/pretrained_models/vgg19-dcbb9e9d.pth.')
    (tmp_path / 'torch_home' / 'hub' / 'checkpoints').mkdir(parents=True)
    torch.save({'features.0.weight': torch.zeros(1)}, tmp_path / 'torch_home/hub/checkpoints/vgg19-dcbb9e9d.pth')
    assert vgg_weights_problem('vgg19') is None  # found in the cache: nothing is downloaded


def test_unknown_keys_in_the_plugin_sections(tiny_data):
    opt = tiny_options(tiny_data)
    opt['train']['atention_opt'] = opt['train'].pop('attention_opt')
    opt['train']['share_extractor'] = True  # FASRGANModel does not share an extractor
    opt['network_d']['input_sise'] = 32
    opt['train']['map_gan_opt']['gan_typ'] = 'vanilla'
    found = problems(opt)
    assert any(p.startswith('train:atention_opt: not an option of FASRGANModel') and 'Did you mean attention_opt' in p
               for p in found)
    assert any(p.startswith('train:share_extractor: not an option of FASRGANModel') for p in found)
    assert "network_d:input_sise: UNetDiscriminatorFA has no argument 'input_sise'. Did you mean input_size?" in found
    assert "train:map_gan_opt:gan_typ: ScoreMapGANLoss has no argument 'gan_typ'. Did you mean gan_type?" in found
    assert len(found) == 4


def test_fine_grained_options_on_a_model_without_attention(tiny_data):
    fs_g = {'type': 'FsRRDBNet', 'num_feat': 8, 'num_grow_ch': 4, 'num_shared_block': 1, 'num_block': 1}
    opt = tiny_options(tiny_data, model_type='FsSRGANModel', network_g=fs_g)
    found = problems(opt)
    assert {p.split(':')[1] for p in found if p.startswith('train:')} == {'map_gan_opt', 'attention_opt'}
    assert any(p.startswith('network_d:type: UNetDiscriminatorFA returns (score, score map) but FsSRGANModel')
               for p in found)
    opt['network_d'] = {'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4, 'input_size': 32}
    opt['train'].update(map_gan_opt=None, attention_opt=None, share_extractor=False)
    assert problems({**opt, 'train': {k: v for k, v in opt['train'].items() if v is not None}}) == []


def test_scale_must_agree_between_network_and_datasets(tiny_data):
    opt = tiny_options(tiny_data)
    opt['network_g']['scale'] = 2
    assert problems(opt) == ['network_g:scale: RRDBNet upsamples ×2 but scale (used by the datasets) is 4; make '
                             'them agree.']
    msr = {'type': 'MSRResNet', 'num_feat': 8, 'num_block': 1}
    opt = tiny_options(tiny_data, network_g=msr, model_type='SRGANFAModel')
    opt['scale'] = 3  # MSRResNet's default upscale is 4
    assert problems(opt)[0].startswith('network_g:upscale: MSRResNet upsamples ×4 but scale')


def test_pretrained_weights_are_checked_before_training(tiny_data, tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (print, ('ran',))

    evil = tmp_path / 'evil.pth'
    evil.write_bytes(pickle.dumps({'params': Payload()}))
    opt = tiny_options(tiny_data)
    opt['path']['pretrain_network_g'] = str(evil)
    opt['path']['pretrain_network_d'] = str(tmp_path / 'missing.pth')
    found = problems(opt)
    assert found[0].startswith('path:pretrain_network_g: ') and 'refused' in found[0]
    assert found[1].startswith("path:pretrain_network_d: '") and 'does not exist' in found[1]


def test_a_validation_metric_whose_package_is_missing_gets_one_line_before_training(tiny_data, capsys, monkeypatch):
    import importlib.util

    from fasrgan_basicsr.utils import early_warnings
    opt = tiny_options(tiny_data)
    opt['val']['metrics']['pi'] = {'type': 'calculate_pi', 'crop_border': 4, 'better': 'lower'}
    find_spec = importlib.util.find_spec
    for installed in (False, True):
        monkeypatch.setattr(importlib.util, 'find_spec',
                            lambda name, *a: (find_spec('math') if installed else None) if name == 'pyiqa' else
                            find_spec(name, *a))
        monkeypatch.setattr(early_warnings, 'PENDING_LOG', [])
        assert problems(opt) == []
        expected = [] if installed else [
            'val:metrics:pi: calculate_pi needs pyiqa, which is not installed (pip install -e .[pi]); it is logged as '
            'nan and the other metrics are computed.']
        assert early_warnings.PENDING_LOG == expected  # written into the run's log once it exists
        assert capsys.readouterr().err.splitlines() == [f'WARNING: {m}' for m in expected]


def test_an_option_the_host_reads_but_the_step_ignores_is_refused(tiny_data):
    opt = tiny_options(tiny_data)
    opt['train']['ldl_opt'] = {'type': 'L1Loss', 'loss_weight': 1.0}
    assert problems(opt) == ["train:ldl_opt: FASRGANModel does not use it (the LDL artifact loss of BasicSR's own "
                             'RealESRGANModel step); remove it.']


def test_a_meta_info_file_naming_a_missing_partner_is_named(tiny_data, tmp_path):
    meta = tmp_path / 'meta.txt'
    names = sorted(os.listdir(tiny_data['train_gt']))
    meta.write_text(f'{names[0]} (1,1,3)\n\nghost.png (1,1,3)\n')
    opt = tiny_options(tiny_data)
    opt['datasets']['train']['meta_info_file'] = str(meta)
    expected = os.path.join(tiny_data['train_gt'], 'ghost.png')
    assert problems(opt) == [f"datasets:train: {expected!r}, listed (as ghost.png) in {meta}, does not exist."]
