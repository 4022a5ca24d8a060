"""keras-tuner search over the protloc zoo (``python -m tuning.search``)."""
