"""How torch runs the model on a CPU: one thread, and denormal numbers flushed to zero."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def fast_cpu() -> Iterator[None]:
    """Run torch on one intra-op thread with denormals flushed to zero; restore the thread count after.

    Training steps and predictions work on small tensors (a few sets x 500 genes x 64), which gain
    nothing from threads; with two OpenMP threads on a busy 2-core machine the same training epoch
    measured 15x slower (19 s against 1.2 s), because the threads spin waiting for each other.

    Denormals: at 5,000 genes, after ~10 epochs the backward pass meets numbers below ~1e-38, which
    the CPU handles in microcode, and epochs slowed from 5 s to 68 s; flushed, they stayed at 5-6 s
    with the same losses (``docs/model.md``). Flushing stays on afterwards: torch cannot report
    the previous setting, and it changes only numbers below ~1e-38.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
