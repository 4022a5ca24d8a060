"""``protloc serve``: a local web page and JSON API over one predictor (FastAPI on uvicorn).

The page (plain HTML, CSS and JavaScript shipped in ``static/``, no CDN: it works offline) takes pasted or uploaded
FASTA (gzip allowed), runs it as a background job with progress, and shows the results table (sortable, filtered by
location, evidence and flags, downloadable as TSV, CSV or JSON) and a page per protein (probability bars, membrane,
the closest labelled protein, flags, and a per-residue track along the sequence: :mod:`protloc.prediction.explain`).
The same
job runs through the JSON API (:mod:`protloc.apps.serve.app`, described at ``/openapi.json``).
"""
