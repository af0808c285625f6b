import os

import numpy as np

from nanomlip.data.store import write_chunk


def test_chunks_get_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_chunk(tmp_path, 0, {"energy": np.zeros(3)})
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert not list(path.parent.glob(".tmp-*"))
