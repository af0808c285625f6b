import sys

import pytest

from nanomlip.integrations import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_heap_mode_only_while_the_projected_footprint_fits():
    if allocator._libc() is None:
        pytest.skip("not glibc, or disabled by NANOMLIP_HEAP_ALLOCATOR=0")
    assert allocator.available_bytes() > 0 and allocator.resident_bytes() > 0
    assert allocator.prepare_for(1000) is True
    too_many = int(10 * allocator.available_bytes() / allocator.BYTES_PER_EDGE) + 1
    assert allocator.prepare_for(too_many) is False  # back to glibc's default
    assert allocator.prepare_for(1000) is True


class _RecordingLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, parameter, value):
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


def test_heap_mode_switches_trimming_off_not_to_the_int_maximum(monkeypatch):
    # mallopt takes an int: 2**31 - 1 is a 2 GiB threshold, which glibc exceeded after every
    # step above ~20k atoms and trimmed the heap; -1 is stored as SIZE_MAX (never trim).
    libc = _RecordingLibc()
    monkeypatch.setattr(allocator, "_libc", lambda: libc)
    monkeypatch.setitem(allocator._state, "heap", False)
    monkeypatch.setattr(allocator, "available_bytes", lambda: 10**12)
    assert allocator.prepare_for(1000) is True
    assert ("mallopt", allocator._M_TRIM_THRESHOLD, -1) in libc.calls
    assert ("mallopt", allocator._M_MMAP_MAX, 0) in libc.calls
    monkeypatch.setattr(allocator, "available_bytes", lambda: 0)
    monkeypatch.setattr(allocator, "resident_bytes", lambda: 0)
    assert allocator.prepare_for(1000) is False
    assert libc.calls[-1] == ("malloc_trim", 0)  # the kept heap goes back before the step
