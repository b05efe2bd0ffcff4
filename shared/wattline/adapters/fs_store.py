"""ObjectStore on the local filesystem: one directory is one bucket (the embedded stack and the unit tests)."""

from __future__ import annotations

import builtins
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from wattline.adapters.objects import info_of, infos_by_head
from wattline.errors import NotFoundError, PreconditionFailedError, TransientError
from wattline.ports import ObjectInfo

_TEMP_PREFIX = ".tmp-"


class FsObjectStore:
    """A bucket as a directory: `<root>/<key>`.

    Writes are atomic (a temporary file in the target directory, then `os.replace`); a create-only write
    (`if_absent=True`) publishes with `os.link`, which fails atomically when the key exists. The etag is the
    md5 of the content in hex, like a single-part S3 upload. `list` walks only below the prefix's directory.
    """

    def __init__(self, root: Path | str, name: str | None = None) -> None:
        self.root = Path(root)
        self.name = name or self.root.name

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"invalid object key {key!r}: use '/'-separated segments without '.', '..' or ''")
        if parts[-1].startswith(_TEMP_PREFIX):
            raise ValueError(f"invalid object key {key!r}: names starting with {_TEMP_PREFIX!r} are reserved")
        return self.root.joinpath(*parts)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFoundError(f"{self.name}/{key} does not exist") from exc
        except OSError as exc:
            raise TransientError(f"cannot read {self.name}/{key}: {exc}") from exc

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_absent: bool = False,
    ) -> ObjectInfo:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                if if_absent:
                    try:
                        os.link(temp_name, path)
                    except FileExistsError as exc:
                        raise PreconditionFailedError(f"{self.name}/{key} already exists") from exc
                else:
                    os.replace(temp_name, path)
            finally:
                if os.path.exists(temp_name):
                    os.unlink(temp_name)
        except (PreconditionFailedError, ValueError):
            raise
        except OSError as exc:
            raise TransientError(f"cannot write {self.name}/{key}: {exc}") from exc
        return info_of(key, data)

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise TransientError(f"cannot read {self.name}/{key}: {exc}") from exc
        return info_of(key, data)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, sorted by key (sizes and etags read lazily)."""
        yield from infos_by_head(self, self._keys(prefix))

    def list_keys(self, prefix: str) -> builtins.list[str]:
        """The keys under `prefix`, sorted, without reading the objects (cheaper than `list`)."""
        return self._keys(prefix)

    def list_prefixes(self, prefix: str) -> builtins.list[str]:
        """The next-level 'directories' under `prefix` (S3 CommonPrefixes with delimiter '/'), sorted."""
        base, _, partial = prefix.rpartition("/")
        directory = self.root.joinpath(*base.split("/")) if base else self.root
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return []
        head = f"{base}/" if base else ""
        return [f"{head}{entry.name}/" for entry in entries if entry.is_dir() and entry.name.startswith(partial)]

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error (as on S3)."""
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise TransientError(f"cannot delete {self.name}/{key}: {exc}") from exc

    def _keys(self, prefix: str) -> builtins.list[str]:
        base = prefix.rpartition("/")[0]
        start = self.root.joinpath(*base.split("/")) if base else self.root
        if not start.is_dir():
            return []
        keys: builtins.list[str] = []
        for directory, _dirs, files in os.walk(start):
            relative = os.path.relpath(directory, self.root)
            head = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            for file_name in files:
                if file_name.startswith(_TEMP_PREFIX):
                    continue
                key = head + file_name
                if key.startswith(prefix):
                    keys.append(key)
        keys.sort()
        return keys
