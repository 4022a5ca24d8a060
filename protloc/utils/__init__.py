"""Utilities every layer may use: the Keras backend and thread layout (runtime), atomic writes and input/output
checks (files), progress bars (progress).

May import: nothing else of protloc.
"""
