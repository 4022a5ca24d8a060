"""The TFDS builder of DeepLoc 2.0's data (``tfds.load("deeploc2")``)."""
