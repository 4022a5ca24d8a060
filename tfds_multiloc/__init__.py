"""TFDS datasets of protloc. Importing this package registers ``multiloc`` with ``tfds.load``/``tfds.builder``."""
from tfds_multiloc.multiloc.multiloc_dataset_builder import Builder as MultiLoc

__all__ = ["MultiLoc"]
