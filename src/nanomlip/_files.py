"""Temporary files for atomic writes that end with the permissions of an ordinary file.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask; a file renamed
into place from it stays unreadable for colleagues on a shared machine. These helpers give
the temporary file the mode ``open()`` would have given (0666 minus the umask, usually 0644).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def default_file_mode() -> int:
    """The mode a new file gets from ``open()``: ``0o666`` minus the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temporary_file(folder: str | os.PathLike, prefix: str, suffix: str) -> str:
    """Create an empty temporary file in ``folder`` with :func:`default_file_mode`.

    Returns:
        Its path; the caller writes it and renames it into place (``os.replace``).
    """
    Path(folder).mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    try:
        os.fchmod(handle, default_file_mode())
    finally:
        os.close(handle)
    return path
