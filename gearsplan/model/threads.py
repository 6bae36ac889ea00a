"""How torch runs the model on a CPU: one thread unless told otherwise, the same results on any number,
denormal numbers flushed to zero, freed memory kept."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import torch

from gearsplan.errors import GearsplanError

#: glibc ``mallopt`` parameters (malloc.h) and the sizes set: above a step's largest temporary.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_BYTES = 256 << 20
#: oneMKL's conditional numerical reproducibility mode (mkl_cbwr.h): ``MKL_CBWR_AUTO | MKL_CBWR_STRICT``.
_MKL_CBWR_AUTO_STRICT = 0x2 | 0x10000

#: Bytes that hold a C ``fenv_t`` (32 on x86-64 glibc, 8 on ARM64).
_FENV_BYTES = 64

#: The intra-op threads :func:`fast_cpu` runs torch on (:func:`use_threads`).
_threads = 1


def use_threads(count: int) -> None:
    """Run gearsplan's torch work (training and prediction, inside :func:`fast_cpu`) on ``count`` intra-op threads.

    One is the default (see :func:`fast_cpu`). The results are the same on any count: matrix
    products by :func:`reproducible_blas`, layer norms by :class:`~gearsplan.model.network.LayerNorm`,
    losses by :func:`~gearsplan.model.losses.total` (``benchmarks/thread_determinism.py`` lists every
    operation that differs), and denormals are flushed on every thread (:func:`flush_workers`). The
    inter-op threads follow where torch still allows it (before any inter-op work).

    Raises
    ------
    GearsplanError
        If ``count`` is below 1.
    """
    if count < 1:
        raise GearsplanError(f"threads must be at least 1, not {count}", "pass --threads 1 or more")
    global _threads
    _threads = count
    torch.set_num_threads(count)
    try:
        torch.set_num_interop_threads(count)
    except RuntimeError:  # set once, or inter-op work has started: the count stays as it was
        pass


@cache
def reproducible_blas() -> bool:
    """Make torch's MKL give bitwise the same matrix products on any number of threads; whether it does.

    MKL chooses its kernel and splits a product by the thread count: products of a few rows
    (a batch's sets x 64) changed in the last bits between one thread and two, and training
    diverged from there (``benchmarks/thread_determinism.py``). In strict conditional numerical
    reproducibility (``MKL_CBWR=AUTO,STRICT``), matrix products do not depend on the thread
    count. torch links MKL statically and exports only the entry point behind ``mkl_cbwr_set``,
    ``mkl_serv_cbwr_set``. MKL takes the mode only before its first product, so this runs as
    the model layer is imported; a mode set in ``MKL_CBWR`` is left alone, and a torch without
    MKL (macOS, ARM) is left as it is.
    """
    if "MKL_CBWR" in os.environ:
        return False
    try:
        set_mode = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so")).mkl_serv_cbwr_set
    except (OSError, AttributeError):
        return False
    return set_mode(_MKL_CBWR_AUTO_STRICT) == 0


@contextmanager
def fast_cpu() -> Iterator[None]:
    """Run torch on one intra-op thread (or :func:`use_threads`'s count) with denormals flushed to zero; restore the thread count after.

    Training steps and predictions work on small tensors (a few sets x 500 genes x 64), which gain
    nothing from threads; with two OpenMP threads on a busy 2-core machine the same training epoch
    measured 15x slower (19 s against 1.2 s), because the threads spin waiting for each other.

    Denormals: at 5,000 genes, after ~10 epochs the backward pass meets numbers below ~1e-38, which
    the CPU handles in microcode, and epochs slowed from 5 s to 68 s; flushed, they stayed at 5-6 s
    with the same losses (``docs/model.md``). Flushing stays on afterwards: torch cannot report
    the previous setting, and it changes only numbers below ~1e-38.

    The flush is a flag of each thread (its MXCSR register) that torch sets on the calling thread
    alone: two threads ran a Norman-scale epoch in 2.9 s against one thread's 3.2 s, until the
    second, unflushed thread met denormals and epochs took 15-19 s. With more than one thread,
    :func:`flush_workers` gives torch's threads the flag too.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(_threads)
    torch.set_flush_denormal(True)
    if _threads > 1:
        flush_workers(_threads)
    keep_freed_memory()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def flush_workers(threads: int) -> None:
    """Give torch's OpenMP threads the calling thread's floating-point environment, denormals flushed included.

    Unflushed, a worker computes denormals that the calling thread flushes: slower (see
    :func:`fast_cpu`), and on another number of threads another result. libgomp runs a parallel
    region of ``threads`` threads on the same pool torch's parallel loops use, each calling libm's
    ``fesetenv`` with the environment ``fegetenv`` read here. Where torch ships no libgomp (macOS,
    Windows), nothing is done.
    """
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        parallel = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libgomp.so.1")).GOMP_parallel
    except (OSError, AttributeError):
        return
    environment = ctypes.create_string_buffer(_FENV_BYTES)
    if libm.fegetenv(environment) != 0:
        return
    parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    parallel.restype = None
    parallel(ctypes.cast(libm.fesetenv, ctypes.c_void_p), ctypes.addressof(environment), threads, 0)


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


reproducible_blas()
