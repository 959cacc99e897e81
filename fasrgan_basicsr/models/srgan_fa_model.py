from basicsr.models.srgan_model import SRGANModel
from basicsr.utils.registry import MODEL_REGISTRY

from .fine_grained_attention import FineGrainedAttentionMixin


@MODEL_REGISTRY.register()
class SRGANFAModel(FineGrainedAttentionMixin, SRGANModel):
    """SRGAN_FA (paper Sec. IV-H): BasicSR's SRGAN model (standard, non-relativistic GAN) plus
    fine-grained attention from a UNet discriminator's score map."""
