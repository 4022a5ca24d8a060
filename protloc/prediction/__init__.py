"""From a preset to results: the preset directory and its checks (preset), the shipped presets (presets/), the
predictor (``Localizer``), output tables and formats (table, deeploc_formats), per-residue explanations (explain,
interpret).

May import: protloc.evidence, protloc.models, protloc.data, protloc.utils.
"""
