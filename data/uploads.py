"""Uploads kept on the server for a while, named by their content's SHA-256, so a page reloaded in a new session
can read the same file again (the dashboard puts the hash in its URL).

A staged upload is the uploaded bytes and the file's base name, nothing else, and no larger than the upload limit
(`PARCOURS_MAX_UPLOAD_MB`). It belongs to the user who uploaded it (it is in no workspace until it is saved as a
log): another user who knows its hash, from a shared link say, finds nothing.
Each one is a folder `<uploads>/<sha256>.<user key>/` built under a private name and renamed into place, so a reader
sees it whole or not at all. Reading one checks its hash again and keeps it one more hour;
those unread for an hour are removed when a `Store` opens and whenever another upload is staged, and only the
newest `MAX_STAGED_UPLOADS` are kept.

>>> uploads = StagedUploads(Settings.from_env())  # doctest: +SKIP
>>> staged = uploads.stage(b"who,what,when\\n…", "journeys.csv")  # doctest: +SKIP
>>> uploads.get(staged.sha256).name  # doctest: +SKIP
'journeys.csv'
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from data.errors import LimitExceeded, LogError, Problem
from data.readers import BYTES_PER_MB
from data.settings import Settings

__all__ = ["MAX_STAGED_UPLOADS", "STALE_UPLOAD_SECONDS", "StagedUpload", "StagedUploads"]

UPLOADS_DIR = ".uploads"
CONTENT_FILE = "content"
NAME_FILE = "name.txt"
# Like the staging folders of an import, an upload nobody read for an hour is removed.
STALE_UPLOAD_SECONDS = 3600
MAX_STAGED_UPLOADS = 20
# A folder still being written is renamed into place within seconds; one left for a minute was abandoned.
HALF_WRITTEN_SECONDS = 60
MAX_FILE_NAME_CHARS = 255
UPLOAD_KEY = re.compile(r"[0-9a-f]{64}")
# A staged upload's folder: its content hash, then a hash of its user (a user's name never reaches a file path).
STAGED_FOLDER = re.compile(r"[0-9a-f]{64}\.[0-9a-f]{16}")
USER_KEY_CHARS = 16


@dataclass(frozen=True)
class StagedUpload:
    """An uploaded file kept on the server: its content's SHA-256 (hex), its base name, its bytes and the file holding
    them (for readers that take a path, as DuckDB does)."""

    sha256: str
    name: str
    content: bytes
    path: Path


class StagedUploads:
    """The uploads of one user (the local user by default) kept under the datasets folder of one Parcours home; safe to
    share between threads and processes."""

    def __init__(self, settings: Settings, user: str | None = None):
        self._settings = settings
        self._folder = settings.datasets_dir / UPLOADS_DIR
        owner = settings.owner if user is None else user
        self._user_key = hashlib.sha256(owner.encode("utf-8")).hexdigest()[:USER_KEY_CHARS]

    def stage(self, content: bytes, name: str) -> StagedUpload:
        """Keep `content` under its SHA-256 with the file's base name, and return it; LimitExceeded when too large."""
        if not isinstance(content, bytes | bytearray | memoryview):
            raise TypeError(f"An upload is bytes, not {type(content).__name__}.")
        content = bytes(content)
        limit = self._settings.max_upload_mb * BYTES_PER_MB
        if len(content) > limit:
            raise LimitExceeded(
                Problem(
                    f"The file is larger than the {self._settings.max_upload_mb} MB this installation accepts.",
                    fix="Compress it (.csv.gz), convert it to Parquet, or ask the operator to raise "
                    "PARCOURS_MAX_UPLOAD_MB.",
                    file=name,
                )
            )
        name = _base_name(name)
        sha256 = hashlib.sha256(content).hexdigest()
        self._folder.mkdir(parents=True, exist_ok=True)
        target = self._folder_of(sha256)
        if _read_content(target, sha256) is None:
            self._put_in_place(target, sha256, content, name)
        else:
            _write_atomically(target / NAME_FILE, name.encode("utf-8"))  # the same bytes under another name
        self.remove_stale()
        return StagedUpload(sha256, name, content, target / CONTENT_FILE)

    def get(self, sha256: str) -> StagedUpload | None:
        """Return the upload this user staged under this SHA-256, or None when there is none (any more, or another
        user's) or it is damaged."""
        if not isinstance(sha256, str) or UPLOAD_KEY.fullmatch(sha256) is None:
            return None  # anything else never reaches a file path
        folder = self._folder_of(sha256)
        content = _read_content(folder, sha256)
        if content is None:
            return None
        try:
            name = _base_name((folder / NAME_FILE).read_text(encoding="utf-8"))
            os.utime(folder)  # read: kept one more hour
        except (OSError, LogError, UnicodeDecodeError):
            return None
        return StagedUpload(sha256, name, content, folder / CONTENT_FILE)

    def forget(self, sha256: str) -> None:
        """Remove a staged upload of this user; forgetting one that is not there is not an error."""
        if isinstance(sha256, str) and UPLOAD_KEY.fullmatch(sha256):
            _remove(self._folder_of(sha256))

    def remove_stale(self) -> None:
        """Remove every user's uploads unread for an hour (and half-written ones, and those an older Parcours named by
        hash alone), then all but the newest MAX_STAGED_UPLOADS."""
        try:
            entries = [(entry, _newest_change(entry)) for entry in self._folder.iterdir()]
        except FileNotFoundError:
            return
        now = time.time()
        kept = []
        for entry, changed in entries:
            half_written = STAGED_FOLDER.fullmatch(entry.name) is None and changed < now - HALF_WRITTEN_SECONDS
            if changed < now - STALE_UPLOAD_SECONDS or half_written:
                _remove(entry)
            elif STAGED_FOLDER.fullmatch(entry.name):
                kept.append((changed, entry))
        for _changed, entry in sorted(kept, reverse=True)[MAX_STAGED_UPLOADS:]:
            _remove(entry)

    def _folder_of(self, sha256: str) -> Path:
        return self._folder / f"{sha256}.{self._user_key}"

    def _put_in_place(self, target: Path, sha256: str, content: bytes, name: str) -> None:
        staging = self._folder / f".{target.name}.{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            (staging / CONTENT_FILE).write_bytes(content)
            (staging / NAME_FILE).write_text(name, encoding="utf-8")
            _remove(target)  # damaged: replaced whole
            os.replace(staging, target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if _read_content(target, sha256) is None:
                raise  # not another session putting the same upload in place first


def _base_name(name: object) -> str:
    """Return the file's own name, without any folder a browser or a crafted request put in front of it."""
    base = PureWindowsPath(PurePosixPath(str(name)).name).name.replace("\x00", "")
    if not base.strip() or base in (".", ".."):
        raise LogError(Problem("The upload has no file name.", fix="Upload the file again."))
    return base[-MAX_FILE_NAME_CHARS:]


def _read_content(folder: Path, sha256: str) -> bytes | None:
    try:
        content = (folder / CONTENT_FILE).read_bytes()
    except OSError:
        return None
    return content if hashlib.sha256(content).hexdigest() == sha256 else None


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _newest_change(entry: Path) -> float:
    try:
        return max(path.stat().st_mtime for path in (entry, *(entry.iterdir() if entry.is_dir() else ())))
    except OSError:
        return 0.0


def _remove(entry: Path) -> None:
    if entry.is_dir():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)
