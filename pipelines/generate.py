"""`hnet-bio generate`: sample bytes from a checkpoint; FASTA out for DNA models, WAV for audio.

The checkpoint (a checkpoint directory, a run directory (its best), RUN@last|@STEP or a shipped
model) says in its metadata.json which modality it was trained on (see hnet_bio.checkpoint).
Prompts come from the command line (DNA letters), a FASTA region (``FILE:chr:start-end``) or an
audio file (mu-law encoded at the checkpoint's sample rate). Generation is prefill + one O(1)
step per byte (hnet_bio.generation); progress and bytes/second go to stderr. Output files are
written atomically after generation finishes, so an error never leaves a partial file
(pipelines/generation/).
"""

from __future__ import annotations

import argparse
import sys

import torch

from hnet_bio.generation import SamplingConfig
from pipelines.errors import UsageError
from pipelines.generation.prompts import DNA_ALPHABET
from pipelines.generation.run import generate_samples
from pipelines.inputs import add_device_option, add_quiet_option, apply_threads
from pipelines.runs.resolve import CHECKPOINT_HELP


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("generate", help="sample DNA (FASTA) or audio (WAV) from a checkpoint",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help=f"{CHECKPOINT_HELP} (see `hnet-bio models`)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", help="DNA letters to continue")
    src.add_argument("--prompt-fasta", metavar="FILE[:REGION]", help="e.g. genome.fa:chr1:1-500")
    src.add_argument("--prompt-audio", metavar="FILE", help="prompt from an audio file (audio models)")
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--max-new-bytes", type=int, default=256)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0, help="0 = off")
    p.add_argument("--top-p", type=float, default=1.0, help="1 = off")
    p.add_argument("--greedy", action="store_true")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stop", default="", help="bytes that end a sample (DNA letters), e.g. N")
    p.add_argument("--alphabet", default=DNA_ALPHABET,
                   help=f"DNA models: bytes allowed in the output (default {DNA_ALPHABET}; 'all' = any)")
    p.add_argument("--out", help="output .fa/.fasta (DNA; default stdout) or .wav (audio)")
    p.add_argument("--include-prompt", action="store_true", help="write the prompt before each sample")
    p.add_argument("--stream", action="store_true", help="print DNA to stdout as it is generated")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads (default 1: step decoding ran 8x slower with 2)")
    add_device_option(p)
    add_quiet_option(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        sampling = SamplingConfig(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                                  greedy=args.greedy, seed=args.seed, stop_bytes=args.stop.encode("ascii"),
                                  max_new_bytes=args.max_new_bytes)
    except (ValueError, UnicodeEncodeError) as exc:
        raise UsageError(str(exc)) from None
    apply_threads(args.threads)
    if args.stream and args.out is None:
        raise UsageError("--stream needs --out (stdout carries the streamed bytes)")
    generate_samples(
        args.checkpoint, args.prompt, args.prompt_fasta, args.prompt_audio, args.num_samples, sampling,
        alphabet=None if args.alphabet.lower() == "all" else args.alphabet, out=args.out,
        include_prompt=args.include_prompt, stream_to=sys.stdout if args.stream else None,
        progress=None if args.quiet else sys.stderr, dtype=getattr(torch, args.dtype), device=args.device,
    )
    return 0
