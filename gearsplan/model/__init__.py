"""The GEARS network, its training, ensembles and the safe on-disk bundle."""
