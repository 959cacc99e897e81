from basicsr.models.esrgan_model import ESRGANModel
from basicsr.utils.registry import MODEL_REGISTRY

from .feature_sharing import FeatureSharingMixin


@MODEL_REGISTRY.register()
class FsSRGANModel(FeatureSharingMixin, ESRGANModel):
    """Fs-SRGAN: BasicSR's ESRGAN model (perceptual + λ1 relativistic + λ2 L1, paper Eq. 12) with the
    generator's low-level extractor shared with a VGG-style discriminator head (paper Sec. III-B)."""
