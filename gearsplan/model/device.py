"""Where the networks train: ``auto``, ``cpu`` or ``cuda`` (torch is imported only to ask for CUDA)."""

from __future__ import annotations

from gearsplan.errors import GearsplanError

#: The devices ``--device`` names; ``auto`` is CUDA where torch sees one, else the CPU.
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> str:
    """The torch device ``name`` stands for: ``cpu`` or ``cuda``.

    Parameters
    ----------
    name
        ``auto`` (CUDA where torch sees a GPU, else the CPU), ``cpu`` or ``cuda``.

    Raises
    ------
    GearsplanError
        If ``name`` is none of these, or is ``cuda`` where torch sees no GPU.
    """
    if name not in DEVICES:
        raise GearsplanError(f"unknown device {name!r}", f"choose one of: {', '.join(DEVICES)}")
    if name == "cpu":
        return name
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if name == "auto":
        return "cpu"
    raise GearsplanError(
        "device cuda asked for, but torch sees no CUDA GPU",
        f"use --device cpu or auto; torch {torch.__version__} is "
        + (
            "a CPU-only build: install a CUDA build of torch"
            if torch.version.cuda is None
            else "a CUDA build: check the driver and CUDA_VISIBLE_DEVICES"
        ),
    )
