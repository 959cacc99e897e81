"""Where each forward of the step goes and what it reads: the discriminator's update through its own module (the
distributed wrapper when there is one), the generator's through the bare one; the perceptual loss on its own target;
no generator gradient kept through a discriminator-only iteration. In-process, both ways of computing the step."""
import pytest
import torch
from conftest import NO_DATA, build_training_model, tiny_batch, tiny_options
from torch import nn

REUSE = pytest.mark.parametrize('reuse', [True, False], ids=['reused', 'straightforward'])


class Calls(nn.Module):
    """Forwards to ``module`` and records, per call, the input and whether it carries a graph back to the generator."""

    def __init__(self, module):
        super().__init__()
        self.module = module
        self.inputs = []

    def forward(self, x):
        self.inputs.append((x, x.requires_grad))
        return self.module(x)


@REUSE
def test_the_discriminators_update_runs_its_own_module_and_the_generators_the_bare_one(tmp_path, reuse):
    torch.manual_seed(0)
    model = build_training_model(tiny_options(NO_DATA, reuse_discriminator_outputs=reuse), tmp_path)
    assert model.discriminator_for_update is model.discriminator_forward is model.net_d  # one process: no wrapper
    for_update, bare = Calls(model.net_d), Calls(model.net_d)  # as a DistributedDataParallel wrapper would be
    model.discriminator_for_update, model.discriminator_forward = for_update, bare
    model.feed_data(tiny_batch())
    model.optimize_parameters(current_iter=1)
    gt = model.gt
    if reuse:  # one forward per batch, both for the update: real, then the generated batch with its graph
        assert [(x is gt, grad) for x, grad in for_update.inputs] == [(True, False), (False, True)]
        assert bare.inputs == []
    else:  # generator's update (real without grad, generated with it), then the discriminator's (detached)
        assert [(x is gt, grad) for x, grad in bare.inputs] == [(True, False), (False, True)]
        assert [(x is gt, grad) for x, grad in for_update.inputs] == [(True, False), (False, False)]
    assert torch.equal(for_update.inputs[1][0], model.output)


@REUSE
def test_the_perceptual_loss_reads_its_own_target(tmp_path, reuse):
    torch.manual_seed(0)
    model = build_training_model(tiny_options(NO_DATA, reuse_discriminator_outputs=reuse), tmp_path)
    model.feed_data(tiny_batch())
    perceptual_target = torch.rand_like(model.gt)
    model.loss_targets = lambda: (model.gt, perceptual_target, model.gt)  # as Real-ESRGAN's percep_gt_usm does
    targets = []

    def perceptual(output, target):  # a stand-in for BasicSR's PerceptualLoss: (perceptual, style)
        targets.append(target)
        return (output - target).abs().mean(), None

    model.cri_perceptual = perceptual
    model.optimize_parameters(current_iter=1)
    assert len(targets) == 1 and targets[0] is perceptual_target
    assert 'l_g_percep' in model.get_current_log()


@REUSE
def test_a_discriminator_only_iteration_keeps_no_generator_gradient(tmp_path, reuse):
    torch.manual_seed(0)
    model = build_training_model(tiny_options(NO_DATA, reuse_discriminator_outputs=reuse, net_d_iters=2), tmp_path)
    model.feed_data(tiny_batch())
    model.optimize_parameters(current_iter=2)  # the generator updates on even iterations
    assert all(p.grad is not None for p in model.net_g.parameters())
    model.discriminator_for_update = Calls(model.discriminator_for_update)
    model.optimize_parameters(current_iter=3)  # the discriminator alone: the generator's gradients are freed
    assert all(p.grad is None for p in model.net_g.parameters())
    assert [grad for _, grad in model.discriminator_for_update.inputs] == [False, False]  # no graph into G kept
    assert all(p.grad is not None for p in model.net_d.parameters())


def test_distributed_training_wraps_the_discriminators_update_alone(tmp_path):
    """One gloo process in-process: the update's module is a DistributedDataParallel of the discriminator module
    (unused heads allowed, buffers never broadcast, no CUDA device ids on the CPU), and, the average over one rank
    being the identity, the step equals the single-process one."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0, world_size=1)
    try:
        steps = {}
        for distributed in (True, False):
            torch.manual_seed(0)
            opt = tiny_options(NO_DATA, name=f'dist_{distributed}')
            model = build_training_model(opt, tmp_path, dist=distributed)
            wrapper = model.discriminator_for_update
            if distributed:
                assert isinstance(wrapper, DistributedDataParallel) and wrapper.module is model.discriminator
                assert (wrapper.find_unused_parameters, wrapper.broadcast_buffers, wrapper.device_ids) == (
                    True, False, None)
                assert model.discriminator_forward is model.discriminator is model.net_d  # unwrapped
            else:
                assert wrapper is model.net_d
            model.feed_data(tiny_batch())
            model.optimize_parameters(current_iter=1)
            steps[distributed] = {k: v.detach().clone() for k, v in model.net_d.state_dict().items()}
        for k, v in steps[False].items():
            assert torch.allclose(steps[True][k], v, rtol=0, atol=1e-6), k
    finally:
        dist.destroy_process_group()


def test_on_a_gpu_the_distributed_update_holds_the_current_cuda_device(tmp_path, monkeypatch):
    """The CUDA branch on the CPU: the model's device reads as cuda, ``torch.cuda.current_device`` as 3, and a
    recorder stands in for DistributedDataParallel."""
    from fasrgan_basicsr.models import gan_step

    model = build_training_model(tiny_options(NO_DATA, name='cuda_ids'), tmp_path)
    made = []
    monkeypatch.setattr(gan_step, 'DistributedDataParallel', lambda module, **kwargs: made.append(kwargs) or module)
    monkeypatch.setattr(torch.cuda, 'current_device', lambda: 3)
    model.opt['dist'] = True
    for device, ids in ((torch.device('cuda'), [3]), (torch.device('cpu'), None)):
        model.device = device
        model._setup_speed_options(model.opt['train'])
        assert made.pop() == {'device_ids': ids, 'find_unused_parameters': True, 'broadcast_buffers': False}


def test_a_model_built_without_the_option_check_still_refuses_the_ldl_loss(tmp_path):
    opt = tiny_options(NO_DATA, name='ldl', ldl_opt={'type': 'L1Loss', 'loss_weight': 1.0})
    with pytest.raises(ValueError) as caught:
        build_training_model(opt, tmp_path)
    assert str(caught.value) == ("train:ldl_opt: FASRGANModel does not use it (the LDL artifact loss of BasicSR's own "
                                 'RealESRGANModel step); remove it.')


def test_the_perceptual_terms_default_to_the_pixel_target_and_keep_the_style_term(tmp_path):
    torch.manual_seed(0)
    model = build_training_model(tiny_options(NO_DATA), tmp_path)
    model.feed_data(tiny_batch())
    targets = []
    model.cri_perceptual = lambda output, target: targets.append(target) or (torch.tensor(0.25), torch.tensor(0.5))
    with torch.no_grad():
        out = model.net_g(model.lq)
        real, fake = model.discriminate(model.gt), model.discriminate(out)
        terms = model.generator_loss_terms(out, model.gt, real, fake)  # a caller of its own: no perceptual_gt
    assert len(targets) == 1 and targets[0] is model.gt
    assert (terms['l_g_percep'].item(), terms['l_g_style'].item()) == (0.25, 0.5)
    assert list(terms) == ['l_g_pix', 'l_g_percep', 'l_g_style', 'l_g_gan', 'l_g_fine', 'l_g_attention']


@pytest.mark.parametrize('net_d_iters, net_d_init_iters, updates', [
    (1, 0, [1, 2, 3, 4, 5, 6]), (1, 3, [4, 5, 6]), (2, 0, [2, 4, 6]), (2, 3, [4, 6]), (3, 3, [6])])
def test_the_generator_updates_every_net_d_iters_after_net_d_init_iters(tmp_path, net_d_iters, net_d_init_iters,
                                                                         updates):
    model = build_training_model(tiny_options(NO_DATA, net_d_iters=net_d_iters, net_d_init_iters=net_d_init_iters),
                                 tmp_path)
    assert [it for it in range(1, 7) if model.generator_updates_at(it)] == updates  # BasicSR's SRGANModel rule
