from basicsr.models.esrgan_model import ESRGANModel
from basicsr.utils.registry import MODEL_REGISTRY

from .fine_grained_attention import FineGrainedAttentionMixin


@MODEL_REGISTRY.register()
class FASRGANModel(FineGrainedAttentionMixin, ESRGANModel):
    """FASRGAN: BasicSR's ESRGAN model (RRDBNet, relativistic average GAN) plus fine-grained
    attention from a UNet discriminator's score map (paper Sec. III-A, Eq. 10)."""
