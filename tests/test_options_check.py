"""check_options: each problem named with its key path; all reported at once."""
from urllib.error import URLError

import pytest
from conftest import build_training_model, tiny_options

from fasrgan_basicsr.utils.options_check import OptionsError, check_options


def problems(opt):
    try:
        check_options(opt, 'x.yml')
    except OptionsError as err:
        assert str(err).startswith(f'x.yml: {len(err.problems)} problem(s):')
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
    assert 'train:gan_opt:loss_weight: must be >= 0, got -0.005.' in found
    assert any(p.startswith("val:metrics:psnr:type: unknown metric 'calculate_psnrr'") for p in found)
    assert any(p.startswith("datasets:train:type: unknown dataset 'PairedImageDatset'") for p in found)
    assert f"datasets:train:dataroot_lq: '{tmp_path / 'missing'}' does not exist (see datasets_prep/ to build it)." \
        in found


def test_missing_vgg_weights_offline_is_a_clear_error(tmp_path, monkeypatch):
    import torchvision.models.vgg as vgg

    def offline(*args, **kwargs):
        raise URLError('no network')

    monkeypatch.setattr(vgg.VGG19_Weights.IMAGENET1K_V1, 'get_state_dict', offline, raising=False)
    monkeypatch.chdir(tmp_path)
    perceptual = {'type': 'PerceptualLoss', 'layer_weights': {'conv5_4': 1}}
    data = {'train_gt': '.', 'train_lq': '.', 'val_gt': '.', 'val_lq': '.'}
    with pytest.raises(RuntimeError, match=r'VGG19 weights needed by train.perceptual_opt .*vgg19-dcbb9e9d.pth'):
        build_training_model(tiny_options(data, perceptual_opt=perceptual), tmp_path)
