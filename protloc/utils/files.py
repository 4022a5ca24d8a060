"""Atomic writes and output paths: a reader never sees a half-written result or model, an interrupted run leaves
nothing behind, and a bad output path is refused before any work.

What an output path is decides how it is written (:func:`output_kind`):

* a regular file, or nothing yet: written to a temporary file beside it, named ``.NAME.protloc-PID-RANDOM[SUFFIX]``,
  and renamed over it once complete. A run that is killed outright (SIGKILL, a power cut) cannot remove its
  temporary file; the next write to the same target removes every such file whose process no longer runs.
* a symbolic link: the file it points to is written, as above (the link stays a link).
* a device, a FIFO or a socket (``/dev/null``, ``/dev/stdout``, ``>(cmd)``, a named pipe): written through, as a
  stream, since it cannot be replaced; it is never turned into a regular file.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import pathlib
import re
import stat
import tempfile
import zipfile

_TEMPORARY = re.compile(r"\.protloc-(\d+)-")


def check_input(path, what: str = "input") -> pathlib.Path:
    """``path`` as a Path if it is a readable file (or a FIFO, e.g. ``<(zcat x.gz)``), else a ``ValueError`` naming it:
    missing, a directory, or unreadable."""
    path = pathlib.Path(path)
    if not path.exists():
        raise ValueError(f"{what} {path}: no such file")
    if path.is_dir():
        raise ValueError(f"{what} {path} is a directory; give a FASTA file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{what} {path}: cannot read it (permission denied)")
    return path


def check_not_an_input(path, inputs, option: str = "-o") -> None:
    """A ``ValueError`` where the output ``path`` is one of the ``inputs`` (the same file, by any name or link): the
    result would replace what it is computed from."""
    for source in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, source):
                raise ValueError(f"{option} {path} is the input {source}; choose another output")


def output_kind(path) -> str:
    """How ``path`` is written: ``stream`` (an existing device, FIFO or socket, links followed: written through), else
    ``file`` (a regular file, or nothing yet: written atomically, through any symbolic link)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "file"
    return "file" if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "stream"


def check_output(path, make_parents: bool = False, option: str = "-o") -> pathlib.Path:
    """``path`` as a Path if a file can be written there, else a ``ValueError`` naming ``option`` and ``path``: it
    is a directory, it lies under a file, its directory is missing (unless ``make_parents``) or not writable. A
    device, FIFO or socket (written through) needs only to be writable itself."""
    path = pathlib.Path(path)
    if output_kind(path) == "stream":
        if not os.access(path, os.W_OK):
            raise ValueError(f"{option} {path}: cannot write to it (permission denied)")
        return path
    path = pathlib.Path(os.path.realpath(path)) if path.is_symlink() else path
    if path.is_dir():
        raise ValueError(f"{option} {path} is a directory; give a file name")
    parent = path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), pathlib.Path("."))
    if not existing.is_dir():
        raise ValueError(f"{option} {path}: {existing} is a file, not a directory")
    if existing != parent and not make_parents:
        raise ValueError(f"{option} {path}: the directory {parent} does not exist (create it, or pass --parents)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: cannot write in {existing} (permission denied)")
    return path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None, make_parents: bool = True):
    """Yields a temporary path beside ``path``; on success it replaces ``path`` in one rename, on any failure
    (an exception, Ctrl-C) it is removed and ``path`` keeps its previous content.

    ``suffix`` defaults to the target's own suffix (Keras insists on ``.keras`` when saving models). Temporary files
    of earlier writes to ``path`` whose process has died are removed first. A symbolic link is followed (its target is
    replaced, the link stays); a device, FIFO or socket is yielded itself, to be written through
    (:func:`output_kind`).
    """
    if output_kind(path) == "stream":
        yield pathlib.Path(path)
        return
    path = pathlib.Path(os.path.realpath(path)) if pathlib.Path(path).is_symlink() else pathlib.Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.protloc-{os.getpid()}-", suffix=suffix or path.suffix,
                                         dir=path.parent)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would make results unreadable to others
    try:
        yield pathlib.Path(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def remove_stale_temporaries(path) -> list[pathlib.Path]:
    """Removes the temporary files that writes to ``path`` left behind in processes that no longer run; returns
    them."""
    path = pathlib.Path(path)
    removed = []
    for candidate in glob.glob(glob.escape(str(path.parent / f".{path.name}.protloc-")) + "*"):
        found = _TEMPORARY.search(os.path.basename(candidate))
        if found and not _running(int(found.group(1))):
            with contextlib.suppress(OSError):
                os.remove(candidate)
                removed.append(pathlib.Path(candidate))
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_text(path, text: str) -> None:
    """Writes ``text`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def write_arrays(path, **arrays) -> None:
    """Writes NumPy arrays by name to the ``.npz`` file ``path`` atomically (a cache entry)."""
    import numpy as np

    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **arrays)


def read_arrays(path) -> dict | None:
    """The arrays by name in the ``.npz`` file ``path`` (no pickles), or None where it is absent or damaged (a cache
    entry to compute again)."""
    import numpy as np

    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def write_json(path, data) -> None:
    """Writes ``data`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def save_model(model, path) -> None:
    """Saves a Keras model to a ``.keras`` file atomically."""
    with atomic_path(path, suffix=".keras") as temporary:
        model.save(temporary)
