"""Folder fixes on a local folder (often a synced OneDrive, Dropbox or network share).

Shaped after :class:`hub.folders.writer.DriveWriter`. A rename never replaces what is at
the destination: on Linux the kernel refuses it atomically (``renameat2`` with
``RENAME_NOREPLACE``); where that is missing the destination is checked just before the
rename, leaving a window of a few microseconds that only another program racing on the
same name could hit. Names are compared exactly, so a case-only fix (``valtakirjat`` to
``Valtakirjat``) works on case-insensitive file systems too.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

from hub.sync.protocol import SourceError

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RETRYABLE = {errno.ENOSPC: "there is no space left on the disk: free space",
              errno.EDQUOT: "the disk quota is full: free space or raise the quota",
              errno.EBUSY: "it is in use by another program",
              errno.ETXTBSY: "it is in use by another program"}


def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except OSError:
        return None


_KERNEL_RENAME = _renameat2()


class LocalFolderWriter:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _abs(self, path: str) -> Path:
        parts = [p for p in path.split("/") if p]
        # Paths come from the index, but a folder named '..' must never reach outside.
        if any(p in {".", ".."} for p in parts):
            raise SourceError(f"{path!r} is not a path inside the drive; run a check again")
        return self.root.joinpath(*parts)

    def exists(self, path: str) -> bool:
        parent, _, name = path.rstrip("/").rpartition("/")
        try:
            return name in os.listdir(self._abs(parent))
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise _error(exc, "read", parent or "the drive root") from exc

    def is_empty_folder(self, path: str) -> bool:
        try:
            with os.scandir(self._abs(path)) as entries:
                return next(entries, None) is None
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise _error(exc, "read", path) from exc

    def make_folder(self, path: str) -> None:
        try:
            os.mkdir(self._abs(path))
        except OSError as exc:
            raise _error(exc, "create", path) from exc

    def move(self, src: str, dst: str, is_folder: bool) -> None:
        source, target = self._abs(src), self._abs(dst)
        try:
            if not self.exists(src):
                raise FileNotFoundError(errno.ENOENT, "no such file or folder", str(source))
            if _same_entry(source, target):
                os.rename(source, target)  # a case-only rename of one entry
            else:
                _rename_noreplace(source, target)
        except OSError as exc:
            raise _error(exc, "move", src, dst) from exc

    def close(self) -> None:
        pass  # nothing held open

    def remove_empty_folder(self, path: str) -> None:
        try:
            os.rmdir(self._abs(path))  # the kernel refuses a folder that is not empty
        except OSError as exc:
            raise _error(exc, "remove", path) from exc


def _same_entry(source: Path, target: Path) -> bool:
    try:
        return os.path.samefile(source, target)
    except OSError:
        return False


def _rename_noreplace(source: Path, target: Path) -> None:
    if _KERNEL_RENAME is not None:
        done = _KERNEL_RENAME(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target),
                              _RENAME_NOREPLACE)
        if done == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL):  # else: this file system cannot
            raise OSError(code, os.strerror(code), str(source), None, str(target))
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    os.rename(source, target)


def _error(exc: OSError, doing: str, path: str, dst: str | None = None) -> SourceError:
    what = f"{path!r} to {dst!r}" if dst else repr(path)
    code = exc.errno
    if code in (errno.EEXIST, errno.ENOTEMPTY):
        if doing == "remove":
            return SourceError(f"{path!r} is no longer empty, so it was left in place; "
                               "remove it by hand if it is really not needed")
        return SourceError(f"cannot {doing} {what}: {dst or path!r} already exists and "
                           "nothing is ever replaced; merge the two by hand, then check again")
    if code in (errno.ENOENT, errno.ENOTDIR):
        return SourceError(f"cannot {doing} {what}: it or its parent folder is no longer "
                           "there (changed meanwhile); sync the drive and plan again")
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return SourceError(f"Client Hub may not {doing} {what} ({exc.strerror}); give the "
                           "account running Client Hub write access to the client folders")
    if code in _RETRYABLE:
        return SourceError(f"cannot {doing} {what}: {_RETRYABLE[code]}; it is tried again "
                           "later", retryable=True)
    return SourceError(f"cannot {doing} {what} ({exc.strerror}); check the disk or network "
                       "share - it is tried again later", retryable=True)


__all__ = ["LocalFolderWriter"]
