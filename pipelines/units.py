"""Human-readable quantities for console lines and reports: one formatter per unit, used everywhere."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    """1234567 -> '1.23 MB' (decimal units, as in bytes/s and as `ls -h --si` prints them)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1000
    raise AssertionError("unreachable")
