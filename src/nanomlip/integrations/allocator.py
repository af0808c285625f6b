"""Keep freed memory for reuse on Linux/glibc, when the structure's footprint allows it.

A CPU step allocates and frees the same large per-edge tensors every time. glibc hands any
block above its mmap threshold (at most 32 MiB) straight back to the operating system when
it is freed, so the next step page-faults and zero-fills it again. Measured with nano-5.0
(2 threads, rattled diamond Si, energy + forces + stress), µs per atom per step at 1,728 /
8,000 / 27,000 atoms: default glibc 110 / 194 / 191; with ``M_MMAP_MAX = 0`` (every block
from the heap) 77 / 70 / 80.

The trim threshold must be switched off, not just raised: ``mallopt`` takes an ``int``, so
the largest threshold it can set is 2 GiB, and once the free top of the heap is larger than
that (amorphous SiO2 from about 20,000 atoms) glibc shrinks the heap after every step and
the page faults return (27,000 atoms: 134-203 µs/atom with 1-1.6 million page faults per
step). glibc stores the value as ``size_t`` without a check, so ``-1`` means "never trim";
with it, 27,000 SiO2 atoms take 70 µs/atom and 70,000 take 75-77 µs/atom with no page
faults after the first step, at a peak of 15.6 GiB (7.1 KB per edge, heap fragmentation
included). The mode is used only while that projected footprint fits in the available memory
with a margin; otherwise glibc's default is restored and the kept heap is returned.

Set ``NANOMLIP_HEAP_ALLOCATOR=0`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from functools import cache

#: Projected peak bytes per graph edge in heap mode (nano-5.0, float32, forces and stress:
#: 15.6 GiB for 70,000 atoms of amorphous SiO2, 7.1 KB per edge, rounded up).
BYTES_PER_EDGE = 8_000
#: Fraction of the available memory the projected footprint may use in heap mode.
MEMORY_FRACTION = 0.9

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_GLIBC_DEFAULT_MMAP_MAX = 65536
_NEVER_TRIM = -1  # stored by glibc as SIZE_MAX

_state = {"heap": False}


@cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux") or os.environ.get("NANOMLIP_HEAP_ALLOCATOR") == "0":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 - glibc only (musl has no mallopt)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def available_bytes() -> int:
    """``MemAvailable`` from ``/proc/meminfo`` (bytes); 0 when unknown."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def resident_bytes() -> int:
    """Resident memory of this process (bytes); 0 when unknown."""
    try:
        with open("/proc/self/statm") as file:
            return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def prepare_for(num_edges: int) -> bool:
    """Choose the allocator mode for a step on a graph of ``num_edges`` edges.

    Returns:
        Whether freed memory is kept in the heap for this step.
    """
    libc = _libc()
    if libc is None:
        return False
    room = available_bytes() + (resident_bytes() if _state["heap"] else 0)  # the kept heap
    fits = num_edges * BYTES_PER_EDGE < MEMORY_FRACTION * room
    if fits and not _state["heap"]:
        libc.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM)
        libc.mallopt(_M_MMAP_MAX, 0)
        _state["heap"] = True
    elif not fits and _state["heap"]:
        libc.mallopt(_M_MMAP_MAX, _GLIBC_DEFAULT_MMAP_MAX)
        libc.mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
        libc.malloc_trim(0)  # give the kept heap back before a step that needs the room
        _state["heap"] = False
    return _state["heap"]
