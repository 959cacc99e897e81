from basicsr.models.srgan_model import SRGANModel
from basicsr.utils.registry import MODEL_REGISTRY

from .feature_sharing import FeatureSharingMixin


@MODEL_REGISTRY.register()
class SRGANFsModel(FeatureSharingMixin, SRGANModel):
    """SRGAN_Fs (paper Sec. IV-H): BasicSR's SRGAN model (standard GAN) with a conv + one residual block
    shared between the SRGAN generator (``FsMSRResNet``) and a VGG-style discriminator head."""
