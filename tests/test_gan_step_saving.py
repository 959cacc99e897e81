"""What a GAN model saves (file names, contents, the training state's epoch and iteration) and how the divergence
guard picks the term and iteration it reports; in-process, on tiny networks."""
import pytest
import torch
from conftest import NO_DATA, build_training_model, tiny_batch, tiny_options

from fasrgan_basicsr.pipeline import resilience
from fasrgan_basicsr.utils import distributed
from fasrgan_basicsr.utils.checkpoint import torch_load

FS_G = {'type': 'FsRRDBNet', 'num_feat': 8, 'num_grow_ch': 4, 'num_shared_block': 1, 'num_block': 1}
FS_D = {'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4, 'input_size': 32}
NO_FA = {'map_gan_opt': None, 'attention_opt': None}


def trained(tmp_path, name, **options):
    torch.manual_seed(0)
    model = build_training_model(tiny_options(NO_DATA, name=name, **options), tmp_path)
    model.feed_data(tiny_batch())
    model.optimize_parameters(current_iter=1)
    return model, tmp_path / 'experiments' / name


def assert_same_state(saved, net):
    assert list(saved) == list(net.state_dict())
    assert all(torch.equal(saved[k], v) for k, v in net.state_dict().items())


@pytest.mark.parametrize('ema_decay', [None, 0.999])
def test_save_writes_both_networks_and_the_training_state_under_the_iteration(tmp_path, ema_decay):
    model, root = trained(tmp_path, 'fasrgan', ema_decay=ema_decay)
    model.save(epoch=7, current_iter=3)
    assert sorted(p.name for p in (root / 'models').iterdir()) == ['net_d_3.pth', 'net_g_3.pth']
    assert sorted(p.name for p in (root / 'training_states').iterdir()) == ['3.state']
    net_g = torch_load(root / 'models' / 'net_g_3.pth')
    assert sorted(net_g) == (['params'] if ema_decay is None else ['params', 'params_ema'])
    assert_same_state(net_g['params'], model.net_g)
    if ema_decay:
        assert_same_state(net_g['params_ema'], model.net_g_ema)
    net_d = torch_load(root / 'models' / 'net_d_3.pth')
    assert list(net_d) == ['params']
    assert_same_state(net_d['params'], model.net_d)
    state = torch_load(root / 'training_states' / '3.state')
    assert (state['epoch'], state['iter']) == (7, 3)


def test_a_shared_extractor_is_saved_with_the_generator_only(tmp_path):
    model, root = trained(tmp_path, 'fs', model_type='FsSRGANModel', network_g=FS_G, network_d=FS_D, **NO_FA)
    model.save(epoch=0, current_iter=5)
    assert sorted(p.name for p in (root / 'models').iterdir()) == ['net_d_5.pth', 'net_g_5.pth']
    net_d = torch_load(root / 'models' / 'net_d_5.pth')
    assert list(net_d) == ['params']  # the head alone: E is in net_g_5.pth
    assert_same_state(net_d['params'], model.net_d)


def test_wofs_without_a_saved_extractor_keeps_the_copy_and_says_so(tmp_path, basicsr_messages):
    model, root = trained(tmp_path, 'wofs', model_type='FsSRGANModel', network_g=FS_G, network_d=FS_D,
                          share_extractor=False, **NO_FA)
    head_only = tmp_path / 'head_only.pth'
    torch.save({'params': model.net_d.state_dict()}, head_only)
    before = {k: v.clone() for k, v in model.net_d_extractor.state_dict().items()}
    model.opt['path']['pretrain_network_d'] = str(head_only)
    model._load_discriminator_extractor()
    assert_same_state(before, model.net_d_extractor)
    assert basicsr_messages[-1] == (f'{head_only} has no params_extractor: the discriminator keeps its copy of the '
                                    "generator's extractor.")


def track(model, iteration, **values):
    model._last_terms = {name: torch.tensor(value) for name, value in values.items()}
    model._track_finite(iteration)


def test_the_divergence_reported_is_the_earliest_iteration_then_the_first_term_computed(tmp_path):
    model, root = trained(tmp_path, 'guard')
    model._first_nonfinite.clear()
    model.check_finite()  # nothing tracked yet: nothing to report
    track(model, 0, z_pix=1.0, a_gan=1.0, m_fine=float('nan'))  # iteration 0 counts (a loop of one's own)
    track(model, 1, z_pix=float('inf'), a_gan=float('nan'), m_fine=float('nan'))
    with pytest.raises(resilience.DivergenceError) as caught:
        model.check_finite()
    assert str(caught.value) == resilience.divergence_message('m_fine', 0, str(root / 'models'))

    model._first_nonfinite.clear()
    track(model, 4, z_pix=1.0, a_gan=1.0, m_fine=1.0)
    track(model, 6, z_pix=float('inf'), a_gan=float('nan'), m_fine=1.0)  # same iteration: z_pix was computed first
    track(model, 9, z_pix=1.0, a_gan=1.0, m_fine=float('nan'))
    with pytest.raises(resilience.DivergenceError) as caught:
        model.check_finite()
    assert str(caught.value) == resilience.divergence_message('z_pix', 6, str(root / 'models'))
    assert {k: v.item() for k, v in model._first_nonfinite.items()} == {'z_pix': 6, 'a_gan': 6, 'm_fine': 9}


def test_a_divergence_found_on_another_rank_stops_this_one_too(tmp_path, monkeypatch):
    model, root = trained(tmp_path, 'other_rank')
    monkeypatch.setattr(model, 'current_iter', 12)
    monkeypatch.setattr(distributed, 'agreed', lambda flag, op='max': 1)  # another rank saw a non-finite loss
    assert all(v.item() < 0 for v in model._first_nonfinite.values())  # none here
    with pytest.raises(resilience.DivergenceError) as caught:
        model.check_finite()
    assert str(caught.value) == resilience.divergence_message('(on another rank)', 12, str(root / 'models'))


def test_a_model_logs_nothing_before_its_first_step_and_each_term_after_it(tmp_path):
    torch.manual_seed(0)
    model = build_training_model(tiny_options(NO_DATA, name='log'), tmp_path)
    assert model.get_current_log() == {}
    model.feed_data(tiny_batch())
    model.optimize_parameters(current_iter=1)
    log = model.get_current_log()
    assert list(log) == list(model._last_terms) and all(isinstance(v, float) for v in log.values())
    assert {'l_g_pix', 'l_g_gan', 'l_d_real', 'l_d_fake'} <= set(log)
