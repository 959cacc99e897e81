"""Feature-sharing models in-process: what each update trains, optimizer contents, woFs, counts, plain key names."""
import pytest
import torch
from basicsr.archs import build_network
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.archs.srresnet_arch import MSRResNet
from conftest import NO_DATA, build_training_model, tiny_batch, tiny_options

from fasrgan_basicsr.archs.fs_msrresnet_arch import FsMSRResNet
from fasrgan_basicsr.archs.fs_rrdbnet_arch import FsRRDBNet
from fasrgan_basicsr.archs.fs_split import to_split_state_dict

FS_G = {'type': 'FsRRDBNet', 'num_feat': 8, 'num_grow_ch': 4, 'num_shared_block': 1, 'num_block': 1}
FS_D = {'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4, 'input_size': 32}
FAFS_D = {'type': 'UNetDiscriminatorFA', 'num_in_ch': 8, 'num_feat': 4, 'map_channels': 3, 'input_size': 32}
NO_FA = {'map_gan_opt': None, 'attention_opt': None}


def snapshot(named):
    return {k: v.detach().clone() for k, v in named}


def changed(before, named):
    return {k for k, v in named if not torch.equal(before[k], v.detach())}


def fs_model(tmp_path, model_type='FsSRGANModel', network_d=FS_D, **extra):
    torch.manual_seed(0)
    fa = {} if model_type == 'FAFsSRGANModel' else NO_FA
    opt = tiny_options(NO_DATA, name=model_type, model_type=model_type, network_g=FS_G, network_d=network_d,
                       **{**fa, **extra})
    model = build_training_model(opt, tmp_path)
    model.feed_data(tiny_batch())
    return model


def score_bias(model):
    # the score's output bias has no gradient under a relativistic loss (only C_r - E[C_f] matters): up to float
    # round-off, which Adam's normalisation can still turn into a step, so it is left out of the comparisons
    return {'classifier.2.bias'} if model.relativistic else set()


@pytest.mark.parametrize('model_type,network_d', [('FsSRGANModel', FS_D), ('FAFsSRGANModel', FAFS_D)])
def test_generator_update_trains_the_generator_and_the_shared_extractor(tmp_path, model_type, network_d):
    m = fs_model(tmp_path, model_type, network_d)
    g0, d0 = snapshot(m.net_g.named_parameters()), snapshot(m.net_d.named_parameters())
    m.optimize_generator(current_iter=1)
    assert changed(g0, m.net_g.named_parameters()) == set(g0)
    assert any(k.startswith('extractor.') for k in g0)
    assert changed(d0, m.net_d.named_parameters()) == set()  # the head was frozen, the extractor was not


@pytest.mark.parametrize('model_type,network_d', [('FsSRGANModel', FS_D), ('FAFsSRGANModel', FAFS_D)])
def test_discriminator_update_trains_the_head_and_the_shared_extractor(tmp_path, model_type, network_d):
    m = fs_model(tmp_path, model_type, network_d)
    m.optimize_generator(current_iter=1)
    g0, d0 = snapshot(m.net_g.named_parameters()), snapshot(m.net_d.named_parameters())
    m.optimize_discriminator()
    extractor = {k for k in g0 if k.startswith('extractor.')}
    assert changed(g0, m.net_g.named_parameters()) == extractor  # the deep part did not move
    assert changed(d0, m.net_d.named_parameters()) - score_bias(m) == set(d0) - score_bias(m)
    for name in score_bias(m):
        assert dict(m.net_d.named_parameters())[name].grad.abs().max() < 1e-6


@pytest.mark.parametrize('model_type', ['FsSRGANModel', 'SRGANFsModel'])
def test_optimizers_hold_exactly_their_networks(tmp_path, model_type):
    network_g = dict(FS_G) if model_type == 'FsSRGANModel' else {
        'type': 'FsMSRResNet', 'num_feat': 8, 'num_shared_block': 1, 'num_block': 1}
    torch.manual_seed(0)
    m = build_training_model(tiny_options(NO_DATA, name=model_type, model_type=model_type, network_g=network_g,
                                          network_d=FS_D, **NO_FA), tmp_path)
    ids = lambda params: {id(p) for p in params}  # noqa: E731
    in_optimizer = lambda opt: {id(p) for group in opt.param_groups for p in group['params']}  # noqa: E731
    extractor = ids(m.net_g.extractor.parameters())
    assert in_optimizer(m.optimizer_g) == ids(m.net_g.parameters())
    # discriminator: head + shared extractor; none of the generator's deep part (the authors' aliasing bug)
    assert in_optimizer(m.optimizer_d) == ids(m.net_d.parameters()) | extractor
    assert in_optimizer(m.optimizer_d) & (ids(m.net_g.parameters()) - extractor) == set()
    assert m.relativistic is (model_type == 'FsSRGANModel')


def test_wofs_extractors_are_distinct_and_each_moves_with_its_own_network(tmp_path):
    m = fs_model(tmp_path, share_extractor=False)
    g_ext, d_ext = m.net_g.extractor, m.net_d_extractor
    assert g_ext is not d_ext
    assert not {id(p) for p in g_ext.parameters()} & {id(p) for p in d_ext.parameters()}
    assert all(torch.equal(a, b) for a, b in zip(g_ext.state_dict().values(), d_ext.state_dict().values()))

    g0, d0 = snapshot(g_ext.named_parameters()), snapshot(d_ext.named_parameters())
    m.optimize_generator(current_iter=1)
    assert changed(g0, g_ext.named_parameters()) == set(g0) and changed(d0, d_ext.named_parameters()) == set()

    g0, d0 = snapshot(g_ext.named_parameters()), snapshot(d_ext.named_parameters())
    m.optimize_discriminator()
    assert changed(g0, g_ext.named_parameters()) == set() and changed(d0, d_ext.named_parameters()) == set(d0)
    in_d = {id(p) for group in m.optimizer_d.param_groups for p in group['params']}
    assert in_d == {id(p) for p in m.net_d.parameters()} | {id(p) for p in d_ext.parameters()}


def test_wofs_discriminator_checkpoint_round_trip(tmp_path):
    m = fs_model(tmp_path, share_extractor=False)
    m.optimize_parameters(current_iter=1)
    m.save(epoch=0, current_iter=1)
    path = tmp_path / 'experiments' / 'FsSRGANModel' / 'models' / 'net_d_1.pth'
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) == {'params', 'params_extractor'}
    opt = tiny_options(NO_DATA, name='again', model_type='FsSRGANModel', network_g=FS_G, network_d=FS_D,
                       share_extractor=False, **NO_FA)
    opt['path']['pretrain_network_d'] = str(path)
    again = build_training_model(opt, tmp_path)  # BasicSR loads the head, the model its own extractor
    for mine, saved in ((again.net_d, m.net_d), (again.net_d_extractor, m.net_d_extractor)):
        for k, v in saved.state_dict().items():
            assert torch.equal(mine.state_dict()[k], v), k
    assert not torch.equal(again.net_d_extractor.body[0].rdb1.conv1.weight,
                           again.get_bare_model(again.net_g).extractor.body[0].rdb1.conv1.weight)


def test_wofs_generator_update_freezes_the_head_and_the_discriminators_extractor(tmp_path):
    m = fs_model(tmp_path, share_extractor=False, reuse_discriminator_outputs=False)
    m.optimize_generator(current_iter=1)
    assert all(p.grad is None for p in m.net_d.parameters())
    assert all(p.grad is None for p in m.net_d_extractor.parameters())
    assert all(p.grad is not None for p in m.net_g.parameters())


def test_fs_model_needs_a_generator_with_an_extractor(tmp_path):
    opt = tiny_options(NO_DATA, name='x', model_type='FsSRGANModel', network_d=FS_D, **NO_FA)
    with pytest.raises(ValueError) as caught:
        build_training_model(opt, tmp_path)
    assert str(caught.value) == ("FsSRGANModel shares the generator's low-level extractor with the discriminator: "
                                 'network_g must have one (FsRRDBNet, FsMSRResNet), got RRDBNet.')


# ------------------------------------------------------------------------------------------- counts
def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_against_the_paper():
    rrdb = RRDBNet(3, 3, num_block=1).body[0]
    per_rrdb = n_params(rrdb)
    assert per_rrdb == 719_424
    esrgan = n_params(RRDBNet(3, 3, num_block=23))
    assert esrgan == 16_697_987  # paper: 16.70 M
    e1g16 = n_params(FsRRDBNet(num_shared_block=1, num_block=16))
    assert e1g16 == esrgan - 6 * per_rrdb == 12_381_443  # paper: 12.46 M (0.63 % above ours, see README)
    assert abs(e1g16 - 12.46e6) / 12.46e6 < 0.01
    for e, g in ((2, 15), (3, 14), (4, 13)):  # the split ablation keeps the total
        assert n_params(FsRRDBNet(num_shared_block=e, num_block=g)) == e1g16
    assert n_params(MSRResNet(num_block=16)) == 1_517_571  # paper's SRGAN (with BatchNorm): 1.554 M
    assert n_params(FsMSRResNet(num_shared_block=1, num_block=13)) == 1_517_571 - 2 * 73_856 == 1_369_859


def test_vgg_feature_discriminator_sizes():
    for size, spatial in ((128, 4), (192, 3)):
        d = build_network({'type': 'VGGFeatureDiscriminator', 'num_in_ch': 64, 'input_size': size})
        assert d(torch.rand(2, 64, size, size)).shape == (2, 1)
        assert d.classifier[0].in_features == 512 * spatial * spatial
    with pytest.raises(ValueError, match='halve down to 3 or 4'):
        build_network({'type': 'VGGFeatureDiscriminator', 'input_size': 100})
    with pytest.raises(ValueError, match='built for 192×192 inputs .* received 128×128'):
        build_network({'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4})(torch.rand(1, 8, 128, 128))


# ------------------------------------------------------------------------------------ plain key names
PLAIN = {FsRRDBNet: lambda e, g: RRDBNet(3, 3, num_feat=8, num_block=e + g, num_grow_ch=4),
         FsMSRResNet: lambda e, g: MSRResNet(num_feat=8, num_block=e + g)}
FIRST_CONV = {FsRRDBNet: 'rdb1.conv1.weight', FsMSRResNet: 'conv1.weight'}  # of each block


def fs_net(cls, e, g):
    extra = {'num_grow_ch': 4} if cls is FsRRDBNet else {}
    return cls(num_feat=8, num_shared_block=e, num_block=g, **extra).eval()


@pytest.mark.parametrize('cls', [FsRRDBNet, FsMSRResNet])
def test_state_dict_is_the_plain_archs_and_loads_strictly_into_it(cls):
    torch.manual_seed(0)
    fs, plain = fs_net(cls, 2, 1), PLAIN[cls](2, 1).eval()
    state = fs.state_dict()
    assert list(state) == list(plain.state_dict())  # same names, same order
    plain.load_state_dict(state, strict=True)
    # in memory the extractor stays a submodule: optimizers, EMA and the discriminator see it as before
    params = dict(fs.named_parameters())
    assert next(iter(params)) == 'extractor.conv_first.weight'
    conv = FIRST_CONV[cls]
    assert params['extractor.conv_first.weight'] is fs.extractor.conv_first.weight
    for in_memory, on_disk in (('extractor.conv_first.weight', 'conv_first.weight'),
                               (f'extractor.body.1.{conv}', f'body.1.{conv}'), (f'body.0.{conv}', f'body.2.{conv}')):
        assert torch.equal(params[in_memory], state[on_disk]), in_memory
    x = torch.rand(2, 3, 9, 11)
    with torch.no_grad():
        assert torch.equal(fs(x), plain(x))


@pytest.mark.parametrize('cls', [FsRRDBNet, FsMSRResNet])
def test_a_wrapper_keeps_its_prefix(cls):
    torch.manual_seed(0)
    fs = fs_net(cls, 1, 2)
    wrapped = torch.nn.DataParallel(fs).state_dict()  # DataParallel / DDP: keys under "module."
    assert list(wrapped) == ['module.' + k for k in PLAIN[cls](1, 2).state_dict()]
    other = torch.nn.DataParallel(fs_net(cls, 2, 1))
    other.load_state_dict(wrapped, strict=True)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(other(x), fs(x))


@pytest.mark.parametrize('cls', [FsRRDBNet, FsMSRResNet])
def test_checkpoints_with_the_earlier_split_names_still_load(cls):
    torch.manual_seed(0)
    fs = fs_net(cls, 1, 3)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        for e in (1, 3):  # written by E1G3 (e.g. this very network before plain names) or by E3G1
            old = to_split_state_dict(fs.state_dict(), e)
            assert f'extractor.body.{e - 1}.{FIRST_CONV[cls]}' in old and f'body.{4 - e}.{FIRST_CONV[cls]}' not in old
            for target in (1, 2):
                again = fs_net(cls, target, 4 - target)
                again.load_state_dict(old, strict=True)
                assert torch.equal(again(x), fs(x))


def test_fs_generators_load_plain_weights_and_other_splits():
    torch.manual_seed(0)
    plain = RRDBNet(3, 3, num_feat=8, num_block=4, num_grow_ch=4).eval()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        for e in (1, 2, 3):
            fs = FsRRDBNet(num_feat=8, num_grow_ch=4, num_shared_block=e, num_block=4 - e).eval()
            fs.load_state_dict(plain.state_dict(), strict=True)  # e.g. an L1-pretrained RRDBNet of E+G blocks
            assert torch.equal(fs(x), plain(x))
            other = FsRRDBNet(num_feat=8, num_grow_ch=4, num_shared_block=4 - e, num_block=e).eval()
            other.load_state_dict(fs.state_dict(), strict=True)  # E1G3 ↔ E3G1 ...
            assert torch.equal(other(x), plain(x))
        deeper = FsRRDBNet(num_feat=8, num_grow_ch=4, num_shared_block=1, num_block=4)
        with pytest.raises(RuntimeError, match='Missing key'):
            deeper.load_state_dict(plain.state_dict(), strict=True)


def test_training_saves_plain_names_for_both_parameter_sets_and_ema_still_averages(tmp_path):
    m = fs_model(tmp_path)
    ema_before = {k: v.detach().clone() for k, v in m.net_g_ema.named_parameters()}
    m.optimize_parameters(current_iter=1)  # BasicSR's SRGANModel updates the EMA by named_parameters
    for k, v in m.net_g_ema.named_parameters():
        expected = 0.999 * ema_before[k] + 0.001 * dict(m.net_g.named_parameters())[k].detach()
        assert torch.allclose(v, expected, atol=1e-7, rtol=0), k
    m.save(epoch=0, current_iter=1)
    ckpt = torch.load(tmp_path / 'experiments' / 'FsSRGANModel' / 'models' / 'net_g_1.pth', weights_only=True)
    assert set(ckpt) == {'params', 'params_ema'}
    for key, net in (('params', m.net_g), ('params_ema', m.net_g_ema)):
        plain = RRDBNet(3, 3, num_feat=8, num_block=2, num_grow_ch=4)
        plain.load_state_dict(ckpt[key], strict=True)
        assert torch.equal(plain.body[1].rdb1.conv1.weight, net.body[0].rdb1.conv1.weight)
        assert torch.equal(plain.body[0].rdb1.conv1.weight, net.extractor.body[0].rdb1.conv1.weight)
