"""Sampling from a checkpoint as ``hnet-bio generate`` does it: prompts in the checkpoint's byte
convention (`prompts`), the sampling run with progress (`run`), and FASTA/WAV outputs (`outputs`).
The model-level sampler itself is `hnet_bio.generation`."""
