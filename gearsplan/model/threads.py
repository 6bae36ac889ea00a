"""How torch runs the model on a CPU: one thread, denormal numbers flushed to zero, freed memory kept."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import torch

#: glibc ``mallopt`` parameters (malloc.h) and the sizes set: above a step's largest temporary.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_BYTES = 256 << 20


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

    The flush is a flag of the calling thread (its MXCSR register), so it is also why one thread
    is used at 5,000 genes, where two are faster at first: two threads ran a Norman-scale epoch in
    2.9 s against one thread's 3.2 s, until the second, unflushed thread met denormals and epochs
    took 15-19 s.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    keep_freed_memory()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@cache
def keep_freed_memory() -> None:
    """Let glibc keep freed blocks for reuse instead of unmapping them (Linux; elsewhere nothing).

    torch's CPU allocator has no cache of its own, and a step's temporaries at 5,000 genes
    (sets x genes x 128 floats, 10-30 MB) are above glibc's mmap threshold: each one was mapped,
    page-faulted and unmapped again. Kept, a Norman-scale epoch took 3.3 s against 3.6 s and its
    validation 0.16 s against 0.36 s (``docs/model.md``). Peak memory is unchanged; the process
    keeps its peak until it exits.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)
    libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
