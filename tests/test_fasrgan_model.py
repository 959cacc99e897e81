"""FASRGANModel / SRGANFAModel in-process: which parameters each update trains, and the loss terms."""
import math
from collections import OrderedDict

import pytest
import torch
from basicsr.models.esrgan_model import ESRGANModel
from basicsr.models.srgan_model import SRGANModel
from conftest import NO_DATA, build_training_model, tiny_batch, tiny_options
from torch.nn import functional as F

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.models.fasrgan_model import FASRGANModel
from fasrgan_basicsr.models.fine_grained_attention import FineGrainedAttentionMixin
from fasrgan_basicsr.models.srgan_fa_model import SRGANFAModel

RELATIVISTIC_INVARIANT = 'classifier.2.bias'  # the score's output bias


def snapshot(net):
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def changed(before, net):
    return {k for k, v in net.named_parameters() if not torch.equal(before[k], v.detach())}


@pytest.fixture
def model(tmp_path):
    torch.manual_seed(0)
    m = build_training_model(tiny_options(NO_DATA), tmp_path)
    m.feed_data(tiny_batch())
    return m


def test_models_are_basicsr_models_plus_the_mixin():
    assert issubclass(FASRGANModel, ESRGANModel) and issubclass(FASRGANModel, FineGrainedAttentionMixin)
    assert issubclass(SRGANFAModel, SRGANModel) and not issubclass(SRGANFAModel, ESRGANModel)
    assert issubclass(SRGANFAModel, FineGrainedAttentionMixin)


def test_generator_update_trains_exactly_the_generator(model):
    g0, d0 = snapshot(model.net_g), snapshot(model.net_d)
    terms = model.optimize_generator(current_iter=1)
    assert changed(g0, model.net_g) == set(g0)  # every generator parameter moved
    assert changed(d0, model.net_d) == set()
    assert all(p.grad is None for p in model.net_d.parameters())
    assert list(terms) == ['l_g_pix', 'l_g_gan', 'l_g_fine', 'l_g_attention']


def test_discriminator_update_trains_exactly_the_discriminator(model):
    model.optimize_generator(current_iter=1)
    g0, d0 = snapshot(model.net_g), snapshot(model.net_d)
    g_grads = {k: p.grad.clone() for k, p in model.net_g.named_parameters()}  # left by the generator update
    terms = model.optimize_discriminator()
    # score head, encoder and score-map decoder all trained; the score's output bias has no gradient (the
    # relativistic loss only sees C(x_r) - E[C(x_f)]) up to round-off, which Adam may still turn into a step
    assert changed(d0, model.net_d) - {RELATIVISTIC_INVARIANT} == set(d0) - {RELATIVISTIC_INVARIANT}
    assert dict(model.net_d.named_parameters())[RELATIVISTIC_INVARIANT].grad.abs().max() < 1e-6
    assert changed(g0, model.net_g) == set()
    assert all(torch.equal(p.grad, g_grads[k]) for k, p in model.net_g.named_parameters())  # no gradient added
    assert list(terms) == ['l_d_real', 'l_d_fake', 'l_d_map_real', 'l_d_map_fake', 'out_d_real', 'out_d_fake',
                           'out_d_map_real', 'out_d_map_fake']


def test_d_only_iterations_leave_the_generator_alone(tmp_path):
    m = build_training_model(tiny_options(NO_DATA, net_d_init_iters=5), tmp_path)
    m.feed_data(tiny_batch())
    g0 = snapshot(m.net_g)
    m.optimize_parameters(current_iter=3)
    assert changed(g0, m.net_g) == set()
    assert 'l_g_gan' not in m.get_current_log() and 'l_d_map_real' in m.get_current_log()


def test_loss_terms_equal_the_paper_formulas(model):
    lam1, lam2, lam3 = 5e-3, 1e-2, 1e-2
    out, gt = model.net_g(model.lq), model.gt
    with torch.no_grad():
        real = model.discriminate(gt)
        fake = model.discriminate(out)
        terms = model.generator_loss_terms(out, gt, real, fake)
        d_terms = model.discriminator_loss_terms(real, fake)
    bce = F.binary_cross_entropy_with_logits
    ones, zeros = torch.ones_like, torch.zeros_like
    c_r, c_f, m_r, m_f = real.score, fake.score, real.score_map, fake.score_map
    expected = OrderedDict(
        l_g_pix=lam3 * (out - gt).abs().mean(),
        l_g_gan=lam1 * (bce(c_r - c_f.mean(), zeros(c_r)) + bce(c_f - c_r.mean(), ones(c_f))) / 2,
        l_g_fine=lam1 * (bce(m_r, zeros(m_r)) + bce(m_f, ones(m_f))) / 2,
        l_g_attention=lam2 * ((1 - torch.sigmoid(m_f)) * (out - gt).abs()).mean(),
    )
    d_expected = OrderedDict(
        l_d_real=bce(c_r - c_f.mean(), ones(c_r)) / 2,
        l_d_fake=bce(c_f - c_r.mean(), zeros(c_f)) / 2,
        l_d_map_real=bce(m_r, ones(m_r)) / 2,
        l_d_map_fake=bce(m_f, zeros(m_f)) / 2,
    )
    for got, want in ((terms, expected), (d_terms, d_expected)):
        assert list(got) == list(want)
        for k in want:
            assert got[k].item() == pytest.approx(want[k].item(), rel=1e-6), k


def test_srgan_fa_terms_follow_the_standard_gan_convention(tmp_path):
    """SRGAN_FA (standard GAN): map terms in the form of SRGAN's whole-image terms, none halved, and the
    generator's fine term only on its own output. Hand-computed on fixed, asymmetric scores and maps."""
    m = build_training_model(tiny_options(NO_DATA, name='s', model_type='SRGANFAModel'), tmp_path)
    from fasrgan_basicsr.models.gan_step import DiscriminatorOutput
    out = torch.tensor([0.25, 0.5, 0.75, 1.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    gt = torch.zeros(1, 3, 2, 2)
    m_r = torch.tensor([0.5, -1.0, 2.0, 0.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    m_f = torch.tensor([-2.0, 1.0, 0.0, 3.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    real = DiscriminatorOutput(torch.tensor([[2.0]]), m_r)
    fake = DiscriminatorOutput(torch.tensor([[-1.0]]), m_f)

    def softplus(x):  # BCE(x, 1) = softplus(-x), BCE(x, 0) = softplus(x)
        return math.log1p(math.exp(x))

    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    pix = mean([0.25, 0.5, 0.75, 1.0])
    weight = [1 - 1 / (1 + math.exp(-x)) for x in (-2.0, 1.0, 0.0, 3.0)]  # 1 - σ(M_f)
    expected_g = {'l_g_pix': 1e-2 * pix, 'l_g_gan': 5e-3 * softplus(1.0),
                  'l_g_fine': 5e-3 * mean([softplus(-x) for x in (-2.0, 1.0, 0.0, 3.0)]),
                  'l_g_attention': 1e-2 * mean([w * v for w, v in zip(weight, (0.25, 0.5, 0.75, 1.0))])}
    expected_d = {'l_d_real': softplus(-2.0), 'l_d_fake': softplus(-1.0),
                  'l_d_map_real': mean([softplus(-x) for x in (0.5, -1.0, 2.0, 0.0)]),
                  'l_d_map_fake': mean([softplus(x) for x in (-2.0, 1.0, 0.0, 3.0)])}
    with torch.no_grad():
        got_g = m.generator_loss_terms(out, gt, real, fake)
        got_d = m.discriminator_loss_terms(real, fake)
    for got, want in ((got_g, expected_g), (got_d, expected_d)):
        assert list(got) == list(want)
        for k in want:
            assert got[k].item() == pytest.approx(want[k], rel=1e-6), k
    # the same scores through FASRGAN (relativistic): the map terms are halved and G's has both sides
    fa = build_training_model(tiny_options(NO_DATA, name='f'), tmp_path)
    with torch.no_grad():
        fa_g = fa.generator_loss_terms(out, gt, real, fake)
        fa_d = fa.discriminator_loss_terms(real, fake)
    assert fa_d['l_d_map_real'].item() == pytest.approx(expected_d['l_d_map_real'] / 2, rel=1e-6)
    assert fa_g['l_g_fine'].item() == pytest.approx(
        5e-3 * (mean([softplus(x) for x in (0.5, -1.0, 2.0, 0.0)]) +
                mean([softplus(-x) for x in (-2.0, 1.0, 0.0, 3.0)])) / 2, rel=1e-6)


def test_logging_covers_every_term_and_the_map_means_and_ema_moves(model):
    ema0 = snapshot(model.net_g_ema)
    model.optimize_parameters(current_iter=1)
    assert set(model.get_current_log()) == {'l_g_pix', 'l_g_gan', 'l_g_fine', 'l_g_attention', 'l_d_real', 'l_d_fake',
                                   'l_d_map_real', 'l_d_map_fake', 'out_d_real', 'out_d_fake', 'out_d_map_real',
                                   'out_d_map_fake'}
    assert 0 < model.get_current_log()['out_d_map_real'] < 1 and 0 < model.get_current_log()['out_d_map_fake'] < 1
    assert changed(ema0, model.net_g_ema) == set(ema0)


def test_without_fa_options_it_is_the_woFA_ablation(tmp_path):
    m = build_training_model(tiny_options(NO_DATA, map_gan_opt=None, attention_opt=None), tmp_path)
    m.feed_data(tiny_batch())
    d0 = snapshot(m.net_d)
    m.optimize_parameters(current_iter=1)
    assert {'l_g_fine', 'l_g_attention', 'l_d_map_real'}.isdisjoint(m.get_current_log())
    # only the whole-image score is trained: the score-map decoder gets no gradient
    decoder = {k for k in d0 if k.startswith(('dec', 'to_map'))}
    assert changed(d0, m.net_d) - {RELATIVISTIC_INVARIANT} == set(d0) - decoder - {RELATIVISTIC_INVARIANT}


def test_relativistic_defaults_follow_the_host_and_the_option_overrides(tmp_path):
    assert build_training_model(tiny_options(NO_DATA), tmp_path).relativistic is True
    srgan_fa = build_training_model(tiny_options(NO_DATA, name='s', model_type='SRGANFAModel'), tmp_path)
    assert srgan_fa.relativistic is False
    forced = build_training_model(tiny_options(NO_DATA, name='f', relativistic=False), tmp_path)
    assert forced.relativistic is False
    forced.feed_data(tiny_batch())
    out = forced.net_g(forced.lq)
    with torch.no_grad():
        real, fake = forced.discriminate(forced.gt), forced.discriminate(out)
        l_g_gan = forced.generator_loss_terms(out, forced.gt, real, fake)['l_g_gan']
    bce = F.binary_cross_entropy_with_logits
    assert l_g_gan.item() == pytest.approx(5e-3 * bce(fake.score, torch.ones_like(fake.score)).item(), rel=1e-6)


def test_fine_grained_losses_need_a_dual_output_discriminator(tmp_path):
    vgg_d = {'type': 'VGGStyleDiscriminator', 'num_in_ch': 3, 'num_feat': 4, 'input_size': 128}
    opt = tiny_options(NO_DATA, network_d=vgg_d)
    m = build_training_model(opt, tmp_path)
    m.feed_data(tiny_batch(size=128))
    with pytest.raises(RuntimeError) as caught:
        m.optimize_parameters(current_iter=1)
    assert str(caught.value) == ('FASRGANModel: map_gan_opt/attention_opt need a discriminator that returns '
                                 '(score, score_map), such as UNetDiscriminatorFA; network_d returned one tensor.')
