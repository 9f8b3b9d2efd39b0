"""Compare pipeline pieces: recipe, data-efficiency arithmetic, report."""
