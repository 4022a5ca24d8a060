"""What a builder does before downloading: stop at once, saying what to do instead, when the source is offline."""
from __future__ import annotations

import socket
import urllib.parse

from protloc.data.datasets import DataNotFoundError


def check_source_reachable(url: str, alternatives: str, name: str, timeout: float = 10.0) -> None:
    """Raises :class:`protloc.data.datasets.DataNotFoundError` naming ``alternatives`` when ``url``'s host cannot be
    reached, so an offline build stops at once instead of with a network traceback after retries.

    Args:
        url: a file of the download.
        alternatives: what to do offline (the environment variable, the manual directory, the files).
        name: the data set, for the message.
    """
    host = urllib.parse.urlsplit(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as error:
        raise DataNotFoundError(f"cannot reach {host} to download {name} ({error}); offline, {alternatives}") from None
