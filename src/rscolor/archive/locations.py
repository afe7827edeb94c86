"""Where scenes come from and go to: local paths, GDAL virtual paths, URLs, ``s3://``.

Remote data goes through GDAL (``/vsis3/``, ``/vsicurl/``), which reads the usual
environment variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_S3_ENDPOINT``,
...) in every process that touches the data; rscolor never takes, prints nor stores a
credential, and :func:`redact` strips any that a message could carry.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REMOTE_PREFIXES = ("/vsi", "s3://", "http://", "https://")
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
_SIGNED_QUERY = re.compile(r"\?[^\s]*(X-Amz-|Signature=|sig=|token=)[^\s]*", re.IGNORECASE)


def is_remote(location: str) -> bool:
    """Whether `location` is read or written through GDAL's network file systems."""
    return location.startswith(REMOTE_PREFIXES)


def gdal_path(location: str) -> str:
    """``s3://b/k`` -> ``/vsis3/b/k``; ``https://h/x`` -> ``/vsicurl/https://h/x``; GDAL
    virtual paths and local paths stay as they are."""
    if location.startswith("s3://"):
        return "/vsis3/" + location[len("s3://") :]
    if location.startswith(("http://", "https://")):
        return "/vsicurl/" + location
    return location


def basename(location: str) -> str:
    """The last part of a path or URL, without a query string."""
    return location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def redact(text: str) -> str:
    """`text` without credentials: no ``user:password@`` in URLs, no signed query strings,
    and no value of a credential variable set in this process."""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    text = _SIGNED_QUERY.sub("?***", text)
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def local_or_remote(location: str) -> str | Path:
    """A remote location as its GDAL path (a string), a local one as a Path."""
    return gdal_path(location) if is_remote(location) else Path(location)
