"""gearsplan: plan Perturb-seq screens with GEARS.

The Python API (:mod:`gearsplan.api`)::

    import gearsplan as gp
    screen = gp.read_screen(adata)
    model = gp.train(screen)
    pred = model.predict(["CEBPB+FOSB", "KLF1"])

Its names are loaded on first use, so ``import gearsplan`` (and the command line's start) never pays for torch,
PyTorch Geometric or scanpy.
"""

__version__ = "0.1.0"
__all__ = ["read_screen", "train", "Model", "load_model", "suggest", "gi_map", "evaluate", "__version__"]


def __getattr__(name: str):
    """The API's names, each imported when first asked for."""
    if name not in __all__:
        raise AttributeError(f"module 'gearsplan' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module("gearsplan.data.screen" if name == "read_screen" else "gearsplan.api"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
