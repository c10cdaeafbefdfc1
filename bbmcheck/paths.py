"""File names made from user strings (a model's name), and the folders bbmcheck writes into.

A model's ``name`` is whatever the model file says: ``../../x``, ``/abs/x``, control characters, a
NUL or 300 characters. :func:`safe_name` turns it into one path component of safe characters and
bounded length that cannot leave the folder it is joined to; names that had to be changed get a
short hash of the original, so two different names never give one file name.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

MAX_NAME = 80  # characters of the model part of a file name (file systems allow 255 bytes in all)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str, limit: int = MAX_NAME) -> str:
    """One safe path component for ``name``: only ``A-Za-z0-9_.-``, never starting with ``.`` or ``-``,
    no ``..``, at most ``limit`` characters. A name that is already so is kept; any other is cleaned
    and suffixed with 10 hex digits of its sha256, so the result is unique per name."""
    limit = max(limit, 16)
    if _UNSAFE.search(name) is None and ".." not in name and name[:1] not in ("", ".", "-") \
            and len(name) <= limit:
        return name
    cleaned = _UNSAFE.sub("_", name)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).lstrip("._-").rstrip(".")
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{(cleaned[:limit - 11].rstrip('.') or 'model')}-{digest}"


def finding_stem(model: str, prop: str, after_completion: bool = False) -> str:
    """The file-name stem of one finding's trace: unique per (model name, property, which trace)."""
    return f"{safe_name(model)}.{safe_name(prop, 40)}" + (".after-completion" if after_completion else "")


def inside(folder: Path, name: str) -> Path:
    """``folder / name`` for a name :func:`safe_name` made (or a fixed one): never outside ``folder``."""
    if not name or "/" in name or "\\" in name or "\x00" in name or name in (".", "..") or name.startswith("."):
        raise ValueError(f"not a safe file name: {name!r}")
    return folder / name


def folder_problem(folder: str) -> str | None:
    """Why bbmcheck cannot write files into ``folder`` (creating it if needed), or None.

    Checked before any work is done: a path under a file, a file standing at the folder's name, a
    folder that cannot be created (``/proc/x``) or written (``/proc``) is reported in one sentence.
    The folder is created if it does not exist; a probe file is created in it and removed.
    """
    if "\x00" in folder:
        return "the folder name contains a NUL character"
    path = Path(folder)
    probe = path
    while not os.path.lexists(probe) and probe.parent != probe:
        probe = probe.parent
    if os.path.lexists(probe) and not probe.is_dir():
        if probe == path:
            return f"{folder} exists and is not a folder"
        return f"{folder} cannot be a folder: {probe} is a file"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot create the folder {folder}: {e.strerror or e}"
    try:
        import tempfile  # here: a start-up cost every command would pay

        fd, name = tempfile.mkstemp(prefix=".bbmcheck-probe-", dir=path)
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        return f"cannot write into the folder {folder}: {e.strerror or e}"
    return None


def begins_with(path: Path, header: str) -> bool:
    """Whether the file at ``path`` begins with exactly ``header``: how bbmcheck recognises a file it
    wrote in a text format (never a substring search, which a user's note could match)."""
    want = header.encode("utf-8")
    try:
        with open(path, "rb") as fh:
            return fh.read(len(want)) == want
    except OSError:
        return False
