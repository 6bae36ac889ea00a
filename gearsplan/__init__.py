"""gearsplan: plan Perturb-seq screens with GEARS."""

__version__ = "0.1.0"
