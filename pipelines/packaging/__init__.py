"""Shipped models: packaging a finished run, measuring it, its card, and the list of them.

- `packager`: `package_model`, what ``hnet-bio package`` does (bf16 weights, measures, card, slice)
- `provenance`: where the weights came from (the run, its recipe, its history, the command)
- `measures`: held-out bits/byte, the absent genus, anchors and the regression slice of a model
- `card_facts`: the typed facts a card is written from (kept in metadata.json's extra keys)
- `card`: the model card (README.md) rendered from those facts
- `registry`: the shipped models as ``hnet-bio models`` lists them
"""
