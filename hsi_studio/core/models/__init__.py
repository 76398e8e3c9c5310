"""ULDM models: SpeUAE (stage 1), the SpaAE/RGB LDM base, the ULDM (stage 2), and the bundle format."""

from .base import RGBLDM, expand_conv_in, load_base, load_sd_base
from .bundle import bundle_info, load_bundle, save_bundle, save_speuae
from .speuae import SpeUAE
from .uldm import ULDM

__all__ = ["RGBLDM", "SpeUAE", "ULDM", "bundle_info", "expand_conv_in", "load_base", "load_bundle",
           "load_sd_base", "save_bundle", "save_speuae"]
