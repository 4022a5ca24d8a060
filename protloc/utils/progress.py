"""A progress line on stderr for long command-line runs, shown only when stderr is a terminal (tqdm)."""
from __future__ import annotations

import os
import sys
from typing import Callable, Iterable, Iterator, TypeVar

Item = TypeVar("Item")


def shown(items: Iterable[Item], description: str, unit: str, size: int | None = None,
          position: Callable[[], int] | None = None) -> Iterator[Item]:
    """``items``, counted on one self-updating stderr line (count and rate of ``unit``) when stderr is a terminal;
    unchanged otherwise.

    Args:
        items: what is being produced (e.g. predictions).
        description: the line's label, e.g. ``protloc predict``.
        unit: what one item is, e.g. ``proteins``.
        size: the input's size in bytes, when known (a regular file): the line then also shows the share of the
            input read and the time left, from ``position()``.
        position: bytes of the input read so far (e.g. the open file's ``tell``).
    """
    if not sys.stderr.isatty():
        yield from items
        return
    from tqdm import tqdm

    if not size or position is None:
        yield from tqdm(items, desc=description, unit=f" {unit}", file=sys.stderr)
        return
    line = tqdm(total=size, desc=description, file=sys.stderr,
                bar_format="{desc}: {percentage:3.0f}% of the input{postfix} [{elapsed}, {remaining} left]")
    count = 0
    try:
        for item in items:
            count += 1
            line.update(max(0, position() - line.n))
            seconds = line.format_dict["elapsed"] or 1e-9
            line.set_postfix_str(f"{count:,} {unit}, {count / seconds:,.0f} {unit}/s", refresh=False)
            yield item
        line.update(size - line.n)
    finally:
        line.close()


def counter(description: str, unit: str, total: int | None = None):
    """A self-updating stderr line for work done in batches (call ``update(n)`` after each): count, rate and, with
    ``total``, the share done and the time left; a tqdm object whose updates print nothing when stderr is not a
    terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit=f" {unit}", file=sys.stderr, disable=not sys.stderr.isatty())


def file_size(path) -> int | None:
    """The size in bytes of a regular file (None for standard input, a pipe or a missing file)."""
    try:
        return os.stat(path).st_size if str(path) != "-" and os.path.isfile(path) else None
    except OSError:
        return None
