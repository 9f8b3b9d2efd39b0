"""Learned features and what they are good for: embeddings, the built-in tasks, linear probes.

- `embedding`: pooling a model's hidden states into vectors; `embed_sequences`
- `embedder`: `HNetEmbedder`, the scikit-learn transformer
- `extraction`: `extract_embeddings`, what ``hnet-bio embed`` writes (.npz / .parquet)
- `tasks` (organism, coding, speech-music) and `labels` (a user's labels file): labelled examples
- `baselines`: GC content, k-mer and log-mel features, the controls beside every probe
- `probe`: the cross-validated logistic-regression probe and its metrics
- `classification` + `probe_report`: `classify`, what ``hnet-bio classify`` runs and reports
"""
