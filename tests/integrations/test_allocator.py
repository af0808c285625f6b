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
