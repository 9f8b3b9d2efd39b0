"""Where the windows go over a long sequence, and which window reports which byte.

The model is causal: what it says about byte t depends on bytes [start, t] of the window it ran in.
A window sees the left context inside it and nothing before, so a byte near a window's start is
judged with little context (and the first byte of every window is a forced boundary). Windows
therefore overlap by ``context = window - stride`` bytes, and the rule is:

    every byte takes its values from the window in which it has the most left context,

which is the *earliest* window covering it. Window 0 reports ``[0, window)``; window i >= 1
reports only its last ``stride`` bytes. So every reported byte t was seen with at least
``min(t, window - stride)`` bytes of left context (all of it when t < window). The last window is
shifted left to end exactly at the sequence end, so all windows of a long sequence have the same
length (a uniform batch); shifting only adds context to the bytes it reports.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WINDOW = 4096
DEFAULT_STRIDE = 3072  # 1024 bytes of left context for every byte past the first window


@dataclass(frozen=True)
class Window:
    """Bytes ``[start, end)`` go into the model; bytes ``[report_from, end)`` are reported from it."""

    seq: int  # index of the sequence in the caller's list
    start: int
    end: int
    report_from: int

    @property
    def context(self) -> int:
        """Left context of the first reported byte (the least any reported byte gets)."""
        return self.report_from - self.start


def check_window(window: int, stride: int) -> None:
    """Reject a window/stride pair that would leave bytes unreported or without context."""
    if window < 1:
        raise ValueError(f"window must be >= 1 byte, got {window}")
    if not 1 <= stride <= window:
        raise ValueError(f"stride must be in [1, window={window}], got {stride}")


def plan_windows(length: int, window: int, stride: int, seq: int = 0) -> list[Window]:
    """The windows over a sequence of ``length`` bytes; their reported spans tile ``[0, length)``."""
    check_window(window, stride)
    if length <= 0:
        return []
    if length <= window:
        return [Window(seq, 0, length, 0)]
    out = [Window(seq, 0, window, 0)]
    reported_to = window
    i = 1
    while reported_to < length:
        start = min(i * stride, length - window)  # the last window is shifted to end at `length`
        end = start + window
        out.append(Window(seq, start, end, reported_to))
        reported_to = end
        i += 1
    return out
