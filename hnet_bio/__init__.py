"""hnet_bio: the H-Net model core in pure PyTorch (fused CUDA kernels used only when present).

Knows nothing of FASTA or audio: bytes in, logits and chunk boundaries out.
"""

from hnet_bio.checkpoint import load_pretrained, save_pretrained
from hnet_bio.config import AttnConfig, HNetBioConfig, HNetConfig, SSMConfig
from hnet_bio.errors import CheckpointError, ConfigError, HNetBioError
from hnet_bio.generation import SamplingConfig, generate, stream
from hnet_bio.hnet import HNet, HNetOutput, StageOutput
from hnet_bio.lm import HNetLM, IsotropicLM, LMOutput, build_model
from hnet_bio.reference import load_reference

__version__ = "0.1.0"

__all__ = [
    "AttnConfig",
    "CheckpointError",
    "ConfigError",
    "HNet",
    "HNetBioConfig",
    "HNetBioError",
    "HNetConfig",
    "HNetLM",
    "HNetOutput",
    "IsotropicLM",
    "LMOutput",
    "SSMConfig",
    "SamplingConfig",
    "StageOutput",
    "__version__",
    "build_model",
    "generate",
    "load_pretrained",
    "load_reference",
    "save_pretrained",
    "stream",
]
