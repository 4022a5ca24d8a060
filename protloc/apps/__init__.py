"""What users run: the command line (cli), the web page and JSON API (serve/), the Apache Beam pipeline (beam), the
TF Serving export (export) and the demo.

May import: every other subpackage.
"""
