"""EHR loaders: the MIMIC-III benchmark layout, raw MIMIC-III and MIMIC-IV tables."""
