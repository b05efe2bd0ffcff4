"""Input files of the command-line readers (`wattline analyze`, `wattline import`), read line by line.

- Plain or gzip-compressed, decided by content (the gzip magic), not by name.
- Lines are numbered from 1 as in an editor (blank lines count); a line's text has its `\\n` (and `\\r\\n`) removed
  and invalid UTF-8 replaced.
- A truncated or corrupt gzip stream ends the file where it broke: every complete line before is read, and
  `LineReader.truncated` says so with the file name and the number of lines read. Nothing is raised.
- `max_bytes` caps the decompressed size (a small .gz can hold terabytes): reading past it raises InputTooLarge,
  which names the file and the limit. No line longer than the limit is ever held in memory.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar, overload

GZIP_MAGIC = b"\x1f\x8b"
T = TypeVar("T")

NumberedLine = tuple[int, str]
"""(line number from 1, text without its line break)."""


class InputTooLarge(ValueError):
    """A file is larger than the limit once decompressed."""

    def __init__(self, name: str, limit: int, lines: int) -> None:
        super().__init__(
            f"{name}: larger than the limit of {limit:,} bytes once decompressed (stopped after {lines} lines)"
        )
        self.name = name
        self.limit = limit
        self.lines = lines


class BlockLines(Sequence[bytes]):
    """Lines kept as they were read: `data`, each line followed by its `\\n` (the last perhaps not), split into
    lines only when one is asked for, so a reader that decodes `data` in one call never splits it. A contiguous
    slice is a view of the same split. `strip_returns`: a line's final `\\r` (of a `\\r\\n` break) is removed, as
    `LineReader` reads lines; a raw object's lines keep theirs."""

    def __init__(self, data: bytes, count: int | None = None, *, strip_returns: bool = True) -> None:
        self.data, self.strip_returns = data, strip_returns
        self._start, self._count = 0, count  # None: counted when first asked (or told by `decoded`)
        self._whole = True  # every line of `data` (not a slice)
        self._split: list[list[bytes]] = []  # [every line of `data`], once split: shared with the slices

    @property
    def last(self) -> bool:
        """`data` is a file's last line, without its break."""
        return not self.data.endswith(b"\n")

    def raw_lines(self) -> list[bytes]:
        """Every line of `data` as the file holds it (a `\\r` before its `\\n` kept)."""
        lines = self.data.split(b"\n")
        if self.data.endswith(b"\n"):
            lines.pop()  # (after the final `\\n`)
        return lines

    def _lines(self) -> list[bytes]:
        if not self._split:
            lines = self.raw_lines()
            if self.strip_returns and b"\r" in self.data:
                lines = [line.removesuffix(b"\r") for line in lines]
            self._split.append(lines)
        return self._split[0]

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.data.count(b"\n") + (0 if self.data.endswith(b"\n") or not self.data else 1)
        return self._count

    def decoded(self, decode: Callable[[bytes], list[T] | None]) -> list[T] | None:
        """`decode` of the whole of `data` in one call (a value per line, or None), unless the lines are a slice's.
        A value per line also counts the lines, so `data` is not scanned for its line breaks again."""
        if not self._whole:
            return None  # (a slice: `data` holds other lines too)
        values = decode(self.data)
        if values is not None and self._count is None:
            self._count = len(values)
        return values

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> BlockLines: ...

    def __getitem__(self, index: int | slice) -> bytes | BlockLines:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("only contiguous slices")
            view = BlockLines(self.data, max(0, stop - start), strip_returns=self.strip_returns)
            view._start, view._split, view._whole = self._start + start, self._split, False
            return view
        count = len(self)
        if not -count <= index < count:
            raise IndexError(index)
        return self._lines()[self._start + index % count]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._lines()[self._start : self._start + len(self)])


class LineReader:
    """The numbered lines of one file (see the module docstring); iterate once."""

    def __init__(self, path: Path, *, max_bytes: int | None = None) -> None:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.path = path
        self.name = path.name
        self.max_bytes = max_bytes
        self.lines_read = 0
        self.bytes_read = 0
        self.truncated: str | None = None
        with path.open("rb") as probe:
            self.compressed = probe.read(2) == GZIP_MAGIC

    def __iter__(self) -> Iterator[NumberedLine]:
        for number, raw in self.raw_lines():
            yield number, text_of(raw)

    def raw_lines(self, block_size: int = 1 << 20) -> Iterator[tuple[int, bytes]]:
        """The numbered lines as bytes (without `\\n` or `\\r\\n`; not decoded), read a block at a time: the bulk
        readers' path. The same lines, numbers, truncation and size limit as iterating the reader."""
        for block in self._blocks(block_size):
            if block.last:
                yield self._counted(block.data, len(block.data))
            else:
                for line in block.raw_lines():
                    yield self._counted(line, len(line) + 1)

    def raw_blocks(self, block_size: int = 1 << 20) -> Iterator[tuple[int, BlockLines]]:
        """`raw_lines` a block at a time: (the number of the block's first line, its lines). The same lines,
        numbers, truncation and size limit."""
        for block in self._blocks(block_size):
            first = self.lines_read + 1
            if self.max_bytes is not None and self.bytes_read + len(block.data) > self.max_bytes:
                for line in block.raw_lines():  # raises at the line that passes the limit, as `raw_lines` does
                    self._counted(line, len(line) + (0 if block.last else 1))
            self.bytes_read += len(block.data)
            yield first, block
            self.lines_read += len(block)  # (once the block is read: decoding it in one call counts its lines)

    def _blocks(self, block_size: int) -> Iterator[BlockLines]:
        """The complete lines of each next block (the last line perhaps without a break), until the end or a broken
        gzip stream (`truncated` says so)."""
        with self._open() as handle:
            rest = b""
            while True:
                try:
                    block = handle.read1(block_size)
                except (EOFError, OSError, zlib.error) as exc:  # truncated, bad CRC, corrupt deflate data
                    self.truncated = (
                        f"{self.name}: the gzip stream is truncated or corrupt after {self.lines_read} lines "
                        f"({exc}); the lines before are kept"
                    )
                    return
                if not block:
                    if rest:
                        yield BlockLines(rest, 1)  # (a last line without its break)
                    return
                end = block.rfind(b"\n") + 1
                if end:  # the complete lines, copied once: the line begun in the block before, then this block's
                    data = b"".join((rest, memoryview(block)[:end])) if rest else block[:end]
                    rest = block[end:]
                else:  # (no line ends in this block)
                    data, rest = b"", rest + block
                if self.max_bytes is not None and len(rest) > self.max_bytes - self.bytes_read:
                    raise InputTooLarge(self.name, self.max_bytes, self.lines_read)
                if data:
                    yield BlockLines(data)

    def _counted(self, line: bytes, size: int) -> tuple[int, bytes]:
        self.bytes_read += size
        if self.max_bytes is not None and self.bytes_read > self.max_bytes:
            raise InputTooLarge(self.name, self.max_bytes, self.lines_read)
        self.lines_read += 1
        return self.lines_read, line.removesuffix(b"\r")

    def _open(self) -> io.BufferedIOBase:
        if self.compressed:
            return gzip.GzipFile(self.path, "rb")
        return self.path.open("rb")


def text_lines(text: str) -> Iterator[NumberedLine]:
    """The numbered lines of a text already in memory, split exactly as `LineReader` splits a file."""
    pieces = text.split("\n")
    if pieces[-1] == "":
        pieces.pop()  # the break after the last line starts no line
    for number, line in enumerate(pieces, start=1):
        yield number, line.removesuffix("\r")


def text_of(raw: bytes) -> str:
    """A line's text: its line break removed, invalid UTF-8 replaced."""
    return raw.removesuffix(b"\n").removesuffix(b"\r").decode("utf-8", errors="replace")
