"""``python -m protloc.beam``: the Apache Beam pipeline (:mod:`protloc.apps.beam`) under its documented name."""
import sys

from protloc.apps.beam import main

if __name__ == "__main__":
    sys.exit(main())
