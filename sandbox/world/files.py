"""Files: their bytes (one file per SHA-256 in ``files_dir``, else in memory), file ids,
PhotoSizes, ``getFile`` paths and downloads, and resolving a bot's file parameter (upload,
``attach://`` part, file_id or URL).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .core import WorldCore
from .helpers import (
    _image_mime,
    _mime_for,
    _photo_dimensions,
    file_unique_id,
    image_size,
)
from .model import (
    FALLBACK_PHOTO_SIZE,
    MAX_PHOTO_SIZE,
    MAX_UPLOAD_SIZE,
    ApiError,
    JSONDict,
    Upload,
)
from .persistence import _atomic_write
from .records import _File


class Files(WorldCore):
    """The world's stored files."""

    def new_file_id(self, kind: str = "document") -> str:
        """A fresh file_id for a file of ``kind`` ("document" or "photo")."""
        prefix = {"document": "BQACAgUAAxkBAAI", "photo": "AgACAgUAAxkBAAI"}.get(kind, "CAACAgUAAI")
        while True:
            file_id = f"{prefix}{self._next('file'):06d}"
            if file_id not in self._files:
                return file_id

    def add_file(
        self,
        content: bytes,
        file_name: str | None = None,
        *,
        mime_type: str | None = None,
        kind: str = "document",
        file_id: str | None = None,
    ) -> JSONDict:
        """Store a file (one PhotoSize for a photo) and return its Document/PhotoSize dict;
        ``getFile`` and :meth:`download` find it."""
        stored = self._store_file(
            content,
            kind=kind,
            file_name=file_name,
            mime_type=mime_type or (_mime_for(file_name) if file_name else None),
            file_id=file_id,
        )
        return stored.photo_size() if kind == "photo" else stored.document()

    def file_info(self, file_id: str) -> JSONDict:
        """A stored file as a Document dict (KeyError if unknown)."""
        return self._files[file_id].document()

    def file_by_id(self, file_id: str) -> tuple[bytes, str | None, str | None]:
        """A stored file's bytes, file name and MIME type (KeyError if unknown); photos are
        ``image/…`` by their header."""
        stored = self._files[file_id]
        content = self.file_content(file_id)
        mime = stored.mime_type
        if stored.kind == "photo":
            mime = _image_mime(content)
        return content, stored.file_name, mime

    def file_content(self, file_id: str) -> bytes:
        """A stored file's bytes (KeyError if unknown)."""
        stored = self._files[file_id]
        if stored.sha256 in self._blobs:
            return self._blobs[stored.sha256]
        if self.files_dir is None:
            raise KeyError(file_id)
        return (self.files_dir / stored.sha256).read_bytes()

    def download(self, token: str, file_path: str) -> bytes:
        """The bytes behind a ``file_path`` from ``getFile``; 404 Not Found if unknown."""
        self._check_token(token)
        file_id = self._paths.get(file_path.lstrip("/"))
        if file_id is None:
            raise ApiError(404, "Not Found")
        return self.file_content(file_id)

    # ========================================================================================
    # Internals: storing and resolving files
    # ========================================================================================

    def _store_file(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_id: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> _File:
        digest = hashlib.sha256(content).hexdigest()
        if self.files_dir is not None:
            self._write_blob(digest, content)
        else:
            self._blobs[digest] = bytes(content)
        file_id = file_id or self.new_file_id(kind)
        if kind == "photo":
            directory, suffix = "photos", ".jpg"
        else:
            directory = "documents"
            suffix = Path(file_name).suffix.lower() if file_name else ""
            if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
                suffix = ""
        file_path = f"{directory}/file_{self._next('path')}{suffix}"
        stored = _File(
            file_id=file_id,
            unique_id=file_unique_id(file_id),
            sha256=digest,
            size=len(content),
            kind=kind,
            file_path=file_path,
            file_name=file_name if kind != "photo" else None,
            mime_type=mime_type if kind != "photo" else None,
            width=width,
            height=height,
        )
        if kind == "photo" and not (width and height):
            stored.width, stored.height = image_size(content) or FALLBACK_PHOTO_SIZE
        previous = self._files.get(file_id)
        if previous is not None:
            self._paths.pop(previous.file_path, None)
        self._files[file_id] = stored
        self._paths[file_path] = file_id
        self._touch()
        return stored

    def _write_blob(self, digest: str, content: bytes) -> None:
        assert self.files_dir is not None
        path = self.files_dir / digest
        if not path.exists():
            self.files_dir.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, content)

    def _store_photo(self, content: bytes, *, strict: bool) -> list[JSONDict]:
        """Store a photo as Telegram does (several PhotoSizes of one image) and return them.
        With ``strict`` (bot uploads) unreadable or oddly shaped images fail like Telegram."""
        if len(content) > MAX_PHOTO_SIZE:
            raise ApiError(
                400,
                f"Bad Request: file of size {len(content)} bytes is too big for a photo; the "
                f"maximum size is {MAX_PHOTO_SIZE} bytes",
            )
        size = image_size(content)
        if size is None:
            if strict:
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            size = FALLBACK_PHOTO_SIZE
        width, height = size
        if strict and (width + height > 10_000 or max(width, height) > 20 * min(width, height)):
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        stored = [
            self._store_file(content, kind="photo", width=w, height=h)
            for w, h in _photo_dimensions(width, height)
        ]
        ids = [item.file_id for item in stored]
        for item in stored:
            item.photo_set = ids[-1]
        self._photo_sets[ids[-1]] = ids
        return [item.photo_size() for item in stored]

    def _photo_sizes_of(self, file_id: str) -> list[JSONDict]:
        stored = self._files[file_id]
        ids = self._photo_sets.get(stored.photo_set or "", [file_id])
        return [self._files[item].photo_size() for item in ids if item in self._files]

    def _input_file(
        self, value: Any, uploads: Mapping[str, Upload], field_name: str, kind: str
    ) -> JSONDict:
        """Resolve a file parameter (upload, ``attach://`` part, file_id or URL) to the
        message's ``document`` dict or ``photo`` list (as {"document": …} / {"photo": […]})."""
        upload: Upload | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, "Bad Request: can't parse InputMedia: media not found")
        elif value is None or value == "":
            upload = uploads.get(field_name)
            if upload is None:
                raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        if upload is not None:
            if not upload.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(upload.content) > MAX_UPLOAD_SIZE:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo":
                return {"photo": self._store_photo(upload.content, strict=True)}
            name = upload.filename or "document"
            stored = self._store_file(
                upload.content, kind="document", file_name=name, mime_type=_mime_for(name)
            )
            return {"document": stored.document()}
        text = str(value).strip()
        known = self._files.get(text)
        if known is not None:
            if known.kind != kind:
                raise ApiError(
                    400,
                    f"Bad Request: can't use file of type {known.kind.capitalize()} as "
                    f"{kind.capitalize()}",
                )
            if kind == "photo":
                return {"photo": self._photo_sizes_of(text)}
            return {"document": known.document()}
        if text.startswith(("http://", "https://")):
            # The sandbox is offline: Telegram's servers could not fetch it either.
            raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
