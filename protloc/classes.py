"""The 11 MultiLoc compartments, in label order: the one definition used by the TFDS ClassLabel and the zoo."""

CLASS_NAMES = ("er", "golgi", "chloroplast", "cytoplasm", "extracellular", "lysosome", "mitochondrion",
               "nucleus", "peroxisome", "plasma_membrane", "vacuole")
