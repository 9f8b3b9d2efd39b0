"""Building blocks: norms, Mamba-2, attention, SwiGLU, pre-norm blocks and Isotropic stacks."""
