"""The prompt and the sampling alphabet, read and checked in the checkpoint's byte convention.

A DNA prompt comes from the command line (IUPAC letters) or a FASTA region (``FILE:chr:start-end``),
upper-cased unless the checkpoint keeps soft-masking; an audio prompt is an audio file, mu-law
encoded at the checkpoint's sample rate. The alphabet limits which bytes a DNA model may sample,
so that what is written as FASTA is nucleotide letters.
"""

from __future__ import annotations

from pathlib import Path

from modalities.audio import encode_file
from modalities.dna import iter_records, read_sequence
from modalities.iupac import LETTERS
from modalities.regions import parse_region
from pipelines.errors import InputError, UsageError

DNA_ALPHABET = "ACGTN"
IUPAC_TEXT = frozenset(LETTERS.decode("ascii"))  # what a DNA prompt or alphabet may contain


def split_fasta_spec(spec: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE:region`` (region itself may contain ':'): the longest existing file prefix."""
    if Path(spec).exists():
        return Path(spec), None
    for i in range(len(spec) - 1, 0, -1):
        if spec[i] == ":" and Path(spec[:i]).is_file():
            return Path(spec[:i]), spec[i + 1 :] or None
    raise UsageError(f"--prompt-fasta: no such file in {spec!r} (expected FILE or FILE:chr:start-end)")


def read_prompt(
    modality: str,
    prompt: str | None,
    prompt_fasta: str | None,
    prompt_audio: str | None,
    sample_rate: int,
    soft_mask: bool = False,
) -> bytes:
    """The prompt bytes in the checkpoint's byte convention (DNA upper-cased unless soft-masked)."""
    given = [x for x in (prompt, prompt_fasta, prompt_audio) if x is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --prompt, --prompt-fasta, --prompt-audio")
    if modality == "audio":
        if prompt_audio is None:
            raise UsageError("this is an audio model: give the prompt with --prompt-audio FILE")
        data = encode_file(prompt_audio, sample_rate).tobytes()
    elif prompt_audio is not None:
        raise UsageError("this is a DNA model: give the prompt with --prompt or --prompt-fasta")
    elif prompt_fasta is not None:
        path, region = split_fasta_spec(prompt_fasta)
        data = read_sequence(path, region, soft_mask=soft_mask)
        if not data:
            raise InputError(path, f"{_which_record(path, region)} is empty (0 bases); a prompt needs at "
                                   "least one base")
    else:
        assert prompt is not None
        data = _typed_prompt(prompt, soft_mask)
    if not data:
        raise UsageError("the prompt is empty (the model needs at least one byte to start from)")
    return data


def _typed_prompt(prompt: str, soft_mask: bool) -> bytes:
    """Letters from the command line: IUPAC only, upper-cased unless the model keeps soft-masking."""
    text = prompt.strip()
    bad = next((i for i, c in enumerate(text) if c not in IUPAC_TEXT), None)
    if bad is not None:
        raise UsageError(f"--prompt: {text[bad]!r} at position {bad + 1} is not a nucleotide letter; "
                         "a DNA model continues IUPAC letters such as ACGT (or give --prompt-fasta FILE)")
    return (text if soft_mask else text.upper()).encode("ascii")


def _which_record(path: Path, region: str | None) -> str:
    """'record chrT' or 'region chrT:5-9' for messages (a single-record file names its record)."""
    if region:
        reg = parse_region(region)
        whole = reg.start0 == 0 and reg.end0 is None
        return f"record {reg.chrom!r}" if whole else f"region {region!r}"
    first = next(iter_records(path), None)
    return f"record {first.name!r}" if first is not None else "its record"


def check_alphabet(alphabet: str) -> str:
    """A DNA sampling alphabet: IUPAC letters only (``--alphabet 123`` would write digits as FASTA)."""
    if not alphabet:
        raise UsageError("--alphabet is empty; give nucleotide letters such as ACGTN, or 'all'")
    bad = [c for c in dict.fromkeys(alphabet) if c not in IUPAC_TEXT]
    if bad:
        raise UsageError(f"--alphabet: {''.join(bad)!r} are not IUPAC nucleotide letters (e.g. ACGTN), "
                         "and a DNA model writes FASTA; give letters or 'all'")
    return alphabet


def allowed_bytes(alphabet: str, soft_mask: bool) -> bytes:
    """The bytes a DNA model may sample: the alphabet, plus its lower case for the default alphabet
    of a soft-masking model (lower case is data there)."""
    if soft_mask and alphabet == DNA_ALPHABET:
        alphabet += alphabet.lower()
    return check_alphabet(alphabet).encode("ascii")
