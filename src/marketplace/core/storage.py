"""Where uploaded files live (MARKETPLACE_VAR_DIR/evidence), and what a failing store answers.

A full disk or a read-only one is the platform's fault, not the uploader's: the answer says so
(507 full, 503 otherwise, never a bare 500), nothing half-written stays behind, and `/readyz`
fails while the store cannot take a file, so a load balancer stops sending uploads here.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
from pathlib import Path

from marketplace.core.errors import InsufficientStorage, StorageUnavailable
from marketplace.settings import PROJECT_ROOT

log = logging.getLogger("marketplace.storage")

# No room for the bytes (ENOSPC) or over the owner's quota (EDQUOT): 507 Insufficient Storage
# (RFC 4918 11.5). Anything else (read-only, I/O error, permissions) is the store being away.
_FULL = {errno.ENOSPC, errno.EDQUOT}


def evidence_dir() -> Path:
    """var/evidence under the same MARKETPLACE_VAR_DIR the settings use: never under static files."""
    base = Path(os.environ.get("MARKETPLACE_VAR_DIR", PROJECT_ROOT / "var"))
    return base / "evidence"


def storage_error(exc: OSError) -> InsufficientStorage | StorageUnavailable:
    """The domain error a failed write becomes; logged once for the operators."""
    reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
    log.error("file store %s: %s", evidence_dir(), reason)
    if exc.errno in _FULL:
        return InsufficientStorage(
            "The file store is full, so the file was not saved. Nothing was changed; "
            "please try again later.",
            code="storage_full",
        )
    return StorageUnavailable(
        "The file store cannot take files at the moment, so the file was not saved. "
        "Nothing was changed; please try again later.",
        code="storage_unavailable",
        headers={"Retry-After": "60"},
    )


def check_writable() -> None:
    """Write, read back and remove a small probe file; raises OSError when the store cannot.

    A few bytes rather than an empty file: a full disk still creates empty files (an inode is
    free) but refuses the first block of data.
    """
    directory = evidence_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    probe = directory / f".readyz-{secrets.token_hex(8)}.part"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(b"ready\n")
            f.flush()
            os.fsync(f.fileno())
    finally:
        probe.unlink(missing_ok=True)
