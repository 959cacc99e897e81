"""Every generator checkpoint that the real ``train.py`` writes loads as it is in spandrel (chaiNNer's and ComfyUI's
model loader) and in BasicSR's plain ``RRDBNet`` / ``MSRResNet`` with ``strict=True``, with the project's outputs;
Fs checkpoints written before plain key names still load.

One tiny run of ``train.py`` per model (2 iterations; params and params_ema saved): five runs, the reason this module
takes a minute or more. spandrel's ESRGAN fixes the RRDB growth channels at ESRGAN's 32, so the RRDB generators here
have ``num_grow_ch: 32`` (and 8 features, 1 or 2 blocks).
"""
import pytest
import spandrel
import torch
from basicsr.archs import build_network
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.archs.srresnet_arch import MSRResNet
from conftest import TINY_D, run_entry, tiny_options

from fasrgan_basicsr.archs.fs_split import to_split_state_dict
from fasrgan_basicsr.demos.photos import load_photo
from fasrgan_basicsr.generators.loading import load_generator
from fasrgan_basicsr.interop import spandrel as spandrel_support
from fasrgan_basicsr.utils.checkpoint import load_network

RRDB = {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 2, 'num_grow_ch': 32}
FS_RRDB = {'type': 'FsRRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1, 'num_block': 1,
           'num_grow_ch': 32}
MSR = {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 2, 'upscale': 4}
FS_MSR = {'type': 'FsMSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1, 'num_block': 1}
VGG_D = {'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4, 'input_size': 32}
UNET_FEATURES_D = {'type': 'UNetDiscriminatorFA', 'num_in_ch': 8, 'num_feat': 4, 'map_channels': 3, 'input_size': 32}
NO_FA = dict(map_gan_opt=None, attention_opt=None)

# model → (its training options, spandrel's architecture id, BasicSR's plain arch, its blocks in all; all ×4)
MODELS = {
    'FASRGAN': (dict(model_type='FASRGANModel', network_g=RRDB, network_d=TINY_D), 'ESRGAN', RRDBNet, 2),
    'Fs-SRGAN': (dict(model_type='FsSRGANModel', network_g=FS_RRDB, network_d=VGG_D, **NO_FA), 'ESRGAN', RRDBNet, 2),
    'FA+Fs-SRGAN': (dict(model_type='FAFsSRGANModel', network_g=dict(FS_RRDB, num_shared_block=2),
                         network_d=UNET_FEATURES_D), 'ESRGAN', RRDBNet, 3),
    'SRGAN_FA': (dict(model_type='SRGANFAModel', network_g=MSR, network_d=TINY_D), 'MSRResNet', MSRResNet, 2),
    'SRGAN_Fs': (dict(model_type='SRGANFsModel', network_g=FS_MSR, network_d=VGG_D, **NO_FA), 'MSRResNet', MSRResNet,
                 2),
}


@pytest.fixture(scope='module')
def photo():
    """A real photograph: a 24×20 crop of scikit-image's astronaut (her face: edges and flat skin), (1, 3, H, W)."""
    crop = load_photo('astronaut', downscale=4)[20:44, 30:50]
    return torch.from_numpy(crop.copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)


@pytest.fixture(scope='module', params=list(MODELS))
def trained(request, tiny_data, tmp_path_factory):
    """``(model name, network_g options, net_g_2.pth)`` written by the real train.py (2 iterations)."""
    name = request.param
    opt = tiny_options(tiny_data, name=name.replace('+', ''), total_iter=2, **MODELS[name][0])
    opt['val']['val_freq'] = 100  # no validation: only the checkpoints matter here
    root = tmp_path_factory.mktemp(name.replace('+', ''))
    run_entry('train.py', opt, root)
    return name, opt['network_g'], root / 'experiments' / opt['name'] / 'models' / 'net_g_2.pth'


def projects_output(network_g, path, param_key, x):
    """The project's generator (the class trained, the project's loader) on ``x``."""
    net = load_network(build_network(dict(network_g)), str(path), (param_key,)).eval()
    with torch.no_grad():
        return net(x)


def plain_arch(cls, num_block):
    return RRDBNet(3, 3, num_feat=8, num_block=num_block, num_grow_ch=32) if cls is RRDBNet else \
        MSRResNet(num_feat=8, num_block=num_block, upscale=4)


def test_checkpoint_loads_as_it_is_in_spandrel(trained, photo):
    name, network_g, path = trained
    _, arch_id, _, num_blocks = MODELS[name]
    spandrel_support.install()  # MSRResNet (SRGAN_FA, SRGAN_Fs): spandrel 0.4.2 has no such architecture
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) == {'params', 'params_ema'}
    assert any(not torch.equal(ckpt['params'][k], ckpt['params_ema'][k]) for k in ckpt['params'])
    from_file = spandrel.ModelLoader().load_from_file(path)  # spandrel takes params_ema
    from_params = spandrel.ModelLoader().load_from_state_dict(ckpt['params'])
    for param_key, model in (('params_ema', from_file), ('params', from_params)):
        assert model.architecture.id == arch_id and model.scale == 4 and f'{num_blocks}nb' in model.tags
        blocks = model.model.hyperparameters['num_blocks'] if arch_id == 'ESRGAN' else len(model.model.body)
        assert blocks == num_blocks
        ours = projects_output(network_g, path, param_key, photo)
        with torch.no_grad():
            assert (model.model(photo) - ours).abs().max().item() <= 1e-6, param_key
        assert (model(photo) - ours.clamp(0, 1)).abs().max().item() <= 1e-6  # spandrel's call API clamps


def test_checkpoint_loads_strictly_into_basicsrs_plain_arch(trained, photo):
    name, network_g, path = trained
    ckpt = torch.load(path, weights_only=True)
    for param_key in ('params', 'params_ema'):
        plain = plain_arch(*MODELS[name][2:]).eval()
        plain.load_state_dict(ckpt[param_key], strict=True)
        with torch.no_grad():
            assert (plain(photo) - projects_output(network_g, path, param_key, photo)).abs().max().item() <= 1e-6


def test_the_projects_loader_recognises_the_plain_arch(trained, photo):
    name, network_g, path = trained
    net, opt = load_generator(str(path))
    assert opt['type'] == MODELS[name][2].__name__ and opt['num_block'] == MODELS[name][3]
    with torch.no_grad():
        assert torch.equal(net(photo), projects_output(network_g, path, 'params_ema', photo))


@pytest.mark.parametrize('model', ['Fs-SRGAN', 'SRGAN_Fs'])
def test_fs_checkpoints_with_the_earlier_names_still_load(model, tmp_path, photo):
    network_g = MODELS[model][0]['network_g']
    torch.manual_seed(0)
    net = build_network(dict(network_g)).eval()
    old = {key: to_split_state_dict(state, network_g['num_shared_block'])
           for key, state in (('params', net.state_dict()), ('params_ema', net.state_dict()))}
    assert 'extractor.conv_first.weight' in old['params'] and not any(k.startswith('body.1.') for k in old['params'])
    torch.save(old, tmp_path / 'old.pth')
    with torch.no_grad():
        expected = net(photo)
        # the class it was trained as (resume, test.py, the score-map viewer) and the project's recognition
        again = load_network(build_network(dict(network_g)), str(tmp_path / 'old.pth')).eval()
        assert torch.equal(again(photo), expected)
        loaded, opt = load_generator(str(tmp_path / 'old.pth'))
        assert opt == network_g  # recognised as the Fs generator it was, split included
        assert torch.equal(loaded(photo), expected)
    with pytest.raises(spandrel.UnsupportedModelError):  # spandrel needs the plain names: export.py writes them
        spandrel.ModelLoader().load_from_file(tmp_path / 'old.pth')
