from basicsr.models.esrgan_model import ESRGANModel
from basicsr.utils.registry import MODEL_REGISTRY

from .feature_sharing import FeatureSharingMixin
from .fine_grained_attention import FineGrainedAttentionMixin


@MODEL_REGISTRY.register()
class FAFsSRGANModel(FeatureSharingMixin, FineGrainedAttentionMixin, ESRGANModel):
    """FA+Fs-SRGAN: FASRGAN's losses (paper Eq. 10) with a UNet discriminator reading the features of the
    generator's shared extractor; its score map keeps the image's channels (paper Sec. IV, FA+Fs-SRGAN)."""
