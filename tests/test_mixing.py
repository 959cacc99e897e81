"""Issue 12: the README's mixing recipes, each run through the real train.py, and the refusals that guard them.

(1) option file only: BasicSR's ESRGAN option file switched to the plugin's model class;
(2) FineGrainedAttentionMixin on a user's own model class, in a file outside the repository (``--import``);
(3) the registered losses called from a user's own ``optimize_parameters`` (``--import`` a module by name).
"""
import textwrap

from conftest import run_entry, tiny_options
from test_hostile_inputs import assert_refused

FA_TERMS = ('l_g_fine', 'l_g_attention', 'l_d_map_real', 'l_d_map_fake')

USER_MIXIN = '''
from basicsr.models.srgan_model import SRGANModel
from basicsr.utils.registry import MODEL_REGISTRY

from fasrgan_basicsr.models.fine_grained_attention import FineGrainedAttentionMixin


@MODEL_REGISTRY.register()
class MyFAModel(FineGrainedAttentionMixin, SRGANModel):
    pass
'''

USER_STEP = '''
from collections import OrderedDict

from basicsr.losses import build_loss
from basicsr.models.srgan_model import SRGANModel
from basicsr.utils.registry import MODEL_REGISTRY


@MODEL_REGISTRY.register()
class MyOwnStepModel(SRGANModel):
    """A user's own GAN step that reads both discriminator outputs and calls the plugin's registered losses."""

    def init_training_settings(self):
        super().init_training_settings()
        train_opt = self.opt['train']
        self.cri_map_gan = build_loss(train_opt['map_gan_opt']).to(self.device)
        self.cri_attention = build_loss(train_opt['attention_opt']).to(self.device)

    def optimize_parameters(self, current_iter):
        for p in self.net_d.parameters():
            p.requires_grad = False
        self.optimizer_g.zero_grad()
        self.output = self.net_g(self.lq)
        score_fake, map_fake = self.net_d(self.output)
        terms = OrderedDict(l_g_pix=self.cri_pix(self.output, self.gt),
                            l_g_gan=self.cri_gan(score_fake, True, is_disc=False),
                            l_g_fine=self.cri_map_gan(map_fake, True, is_disc=False),
                            l_g_attention=self.cri_attention(self.output, self.gt, map_fake))
        sum(terms.values()).backward()
        self.optimizer_g.step()
        for p in self.net_d.parameters():
            p.requires_grad = True
        self.optimizer_d.zero_grad()
        score_real, map_real = self.net_d(self.gt)
        score_fake, map_fake = self.net_d(self.output.detach())
        d_terms = OrderedDict(l_d_real=self.cri_gan(score_real, True, is_disc=True),
                              l_d_fake=self.cri_gan(score_fake, False, is_disc=True),
                              l_d_map_real=self.cri_map_gan(map_real, True, is_disc=True),
                              l_d_map_fake=self.cri_map_gan(map_fake, False, is_disc=True))
        sum(d_terms.values()).backward()
        self.optimizer_d.step()
        self.log_dict = self.reduce_loss_dict(OrderedDict(**terms, **d_terms))
'''


def _log(root, name='tiny'):
    return next((root / 'experiments' / name).glob('train_*.log')).read_text()


def _logged_terms(log):
    """Loss names of the iteration log lines (``l_g_fine: 1.2e-03 ...``) with their values."""
    terms = {}
    for line in log.splitlines():
        if '[epoch:' in line and ' iter:' in line:
            parts = line.rsplit(']', 1)[-1].split()
            for key, value in zip(parts[::2], parts[1::2]):
                terms[key.rstrip(':')] = float(value)
    return terms


def test_recipe_1_option_file_only(tiny_data, tmp_path):
    """ESRGAN's option file with the UNet discriminator and the two FA losses, model_type FASRGANModel."""
    opt = tiny_options(tiny_data, model_type='FASRGANModel', total_iter=2)
    run_entry('train.py', opt, tmp_path)
    terms = _logged_terms(_log(tmp_path))
    assert all(term in terms and terms[term] > 0 for term in FA_TERMS), terms


def test_recipe_2_the_mixin_on_a_user_model_in_a_file_outside_the_repository(tiny_data, tmp_path):
    user = tmp_path / 'user_code'
    user.mkdir()
    (user / 'my_models.py').write_text(USER_MIXIN)
    opt = tiny_options(tiny_data, model_type='MyFAModel', total_iter=2)
    proc = run_entry('train.py', opt, tmp_path / 'unknown', check=False)
    assert_refused(proc, "model_type: unknown model 'MyFAModel'")
    run_entry('train.py', opt, tmp_path / 'run', '--import', str(user / 'my_models.py'))
    terms = _logged_terms(_log(tmp_path / 'run'))
    assert all(term in terms and terms[term] > 0 for term in FA_TERMS), terms
    opt['train']['share_extractor'] = True  # the mixin's model is fully known: its train keys are checked
    proc = run_entry('train.py', opt, tmp_path / 'bad', '--import', str(user / 'my_models.py'), check=False)
    assert 'train:share_extractor: not an option of MyFAModel' in proc.stderr and proc.returncode == 2


def test_recipe_3_registered_losses_in_a_user_step_imported_by_module_name(tiny_data, tmp_path, monkeypatch):
    user = tmp_path / 'pkg'
    (user / 'my_pkg').mkdir(parents=True)
    (user / 'my_pkg' / '__init__.py').write_text('')
    (user / 'my_pkg' / 'models.py').write_text(USER_STEP)
    monkeypatch.setenv('PYTHONPATH', str(user))
    opt = tiny_options(tiny_data, model_type='MyOwnStepModel', total_iter=2)
    run_entry('train.py', opt, tmp_path / 'run', '--import', 'my_pkg.models')
    terms = _logged_terms(_log(tmp_path / 'run'))
    assert all(term in terms and terms[term] > 0 for term in FA_TERMS), terms


def test_fa_options_on_a_model_that_ignores_them_are_refused_naming_the_fix(tiny_data, tmp_path):
    opt = tiny_options(tiny_data, model_type='ESRGANModel')  # the README's old recipe: keys silently ignored
    proc = run_entry('train.py', opt, tmp_path, check=False)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    for expected in ("train:attention_opt: ESRGANModel ignores it", "train:map_gan_opt: ESRGANModel ignores it",
                     'network_d:type: UNetDiscriminatorFA returns (score, score map) but ESRGANModel expects one '
                     'output; use FASRGANModel'):
        assert expected in proc.stderr, proc.stderr
    assert not (tmp_path / 'experiments').exists()


def test_an_import_that_fails_is_one_line(tiny_data, tmp_path):
    broken = tmp_path / 'broken.py'
    broken.write_text(textwrap.dedent('''
        import not_a_module_anywhere
    '''))
    proc = run_entry('train.py', tiny_options(tiny_data), tmp_path, '--import', str(broken), check=False)
    assert_refused(proc, f'--import {broken}', "ModuleNotFoundError: No module named 'not_a_module_anywhere'")
    proc = run_entry('train.py', tiny_options(tiny_data), tmp_path, '--import', 'no.such.module', check=False)
    assert_refused(proc, '--import no.such.module', 'cannot be imported')


def test_save_score_map_needs_a_model_with_a_score_map(tiny_data):
    from fasrgan_basicsr.pipeline.options_check import OptionsError, check_options
    opt = tiny_options(tiny_data, model_type='SRModel', network_d=None, gan_opt=None, map_gan_opt=None,
                       attention_opt=None, optim_d=None, net_d_iters=None, net_d_init_iters=None)
    del opt['network_d']
    check_options(opt, 'x.yml')  # an SRModel file as such is fine
    opt['val']['save_score_map'] = True
    try:
        check_options(opt, 'x.yml')
    except OptionsError as err:
        assert err.problems == ['val:save_score_map: SRModel has no score-map discriminator to draw; use it with '
                                'FASRGANModel, SRGANFAModel or FAFsSRGANModel, or remove it.']
    else:
        raise AssertionError('save_score_map on SRModel was accepted')
