"""Write a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from detection.diagnostics import Diagnostic, Location

CODE_WRITE = "E105"  # a file could not be written (permissions, disk full, a folder in the way)


def write_atomic(path: Path | str, data: bytes | str) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file 0600; keep the replaced file's mode, or the umask's default.
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        # The rename never happened: remove the temporary file so nothing half-written is left.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):  # name the file the caller asked for, not the temporary one
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_failure(shown: Path | str, exc: OSError) -> Diagnostic:
    """The located error for a write that failed; with write_atomic the old file is still whole."""
    reason = exc.strerror or str(exc)
    return Diagnostic(Location(str(shown), 0, 0), CODE_WRITE, f"cannot write: {reason}",
                      hint="the file was left as it was; check the path, its permissions and the free space, "
                           "then run the command again")
