"""TFDS datasets of protloc. Importing this package registers ``multiloc`` and ``deeploc2`` with
``tfds.load``/``tfds.builder``."""
from tfds_multiloc.deeploc2.deeploc2_dataset_builder import Builder as DeepLoc2
from tfds_multiloc.multiloc.multiloc_dataset_builder import Builder as MultiLoc

__all__ = ["DeepLoc2", "MultiLoc"]
