"""Zero-shot scoring with a DNA language model: sequence log-likelihoods, per-position tracks,
variant effects (delta log-likelihood ALT - REF) and in-silico saturation mutagenesis.

`likelihood` runs the model over byte rows; `windows` holds the variant window rule; `variants`
scores variants (grouped, batched, optionally with prefix-state reuse from `prefix`); `ism`
builds the mutagenesis matrix on top of it; `tracks`, `vcf_io` and `tables` read and write files;
`job` is what `hnet-bio score` calls; `validation` builds the offline stand-in benchmarks.
"""
