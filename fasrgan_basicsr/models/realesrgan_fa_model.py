from basicsr.models.realesrgan_model import RealESRGANModel
from basicsr.utils.registry import MODEL_REGISTRY

from .fine_grained_attention import FineGrainedAttentionMixin


@MODEL_REGISTRY.register()
class RealESRGANFAModel(FineGrainedAttentionMixin, RealESRGANModel):
    """Fine-grained attention on Real-ESRGAN's recipe: BasicSR's ``RealESRGANModel`` plus the FA mixin.

    Everything of ``RealESRGANModel`` is kept: the second-order degradations synthesised on the fly in
    :meth:`feed_data` (blur, resize, noise, JPEG, twice, then the sinc filter), the training-pair pool
    (``queue_size``), validation on paired data, and its non-relativistic GAN (``train.relativistic``
    defaults to off for this ``SRGANModel`` host). The step is the plugin's (reused discriminator outputs,
    mixed precision, ``compile``, the divergence guard, exact resume with the pool in the training state),
    with Real-ESRGAN's per-loss targets (:meth:`loss_targets`): the option file's top-level ``l1_gt_usm``,
    ``percep_gt_usm`` and ``gan_gt_usm`` pick the USM-sharpened GT or the plain GT for the pixel loss, the
    perceptual loss and the discriminator's real batch.

    The FA terms (paper Eqs. 3, 7, 9) in the standard-GAN form: ``L_M^D = BCE(M_r, 1) + BCE(M_f, 0)``,
    ``L_fine^G = λ1 BCE(M_f, 1)``, and ``L_attention = λ2 mean((1 − M_f) ⊙ |SR − T|)`` where ``T`` is the pixel
    loss's target (USM-sharpened with ``l1_gt_usm: true``, Real-ESRGAN's default): the attention term is a
    weighted form of that L1, so it pulls toward the same image; a different target would make the two
    terms disagree on every pixel the map leaves unweighted. ``M_r`` is the map of the discriminator's real
    batch (``gan_gt_usm``).

    Shapes: LQ ``(B, 3, h, w)`` made from GT ``(B, 3, 4h, 4w)`` by the degradations; the score map has the
    GT's shape (``UNetDiscriminatorFA``: with the paper's FC head ``gt_size`` must be its ``input_size``; with
    ``score_head: pooled``, the shipped real-world files' choice, any multiple of 8).
    """

    def loss_targets(self):
        """``(pixel, perceptual, real batch)``: ``gt_usm`` where the option file's ``*_gt_usm`` is true (default)."""
        def target(key):
            return self.gt if self.opt.get(key, True) is False else self.gt_usm
        return target('l1_gt_usm'), target('percep_gt_usm'), target('gan_gt_usm')
