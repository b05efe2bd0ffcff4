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
from collections.abc import Iterator
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"

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
        for lines, size, last, _returns in self._blocks(block_size):
            if last:
                yield self._counted(lines[0], size)
            else:
                for line in lines:
                    yield self._counted(line, len(line) + 1)

    def raw_blocks(self, block_size: int = 1 << 20) -> Iterator[tuple[int, list[bytes]]]:
        """`raw_lines` a block at a time: (the number of the block's first line, its lines). The same lines,
        numbers, truncation and size limit."""
        for lines, size, last, returns in self._blocks(block_size):
            yield self._counted_block(lines, size, last=last, returns=returns)

    def _blocks(self, block_size: int) -> Iterator[tuple[list[bytes], int, bool, bool]]:
        """(the complete lines of the next block, their bytes with their line breaks, whether it is the last line
        without a break, whether a `\\r` is in them), until the end or a broken gzip stream (`truncated` says so)."""
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
                        yield [rest], len(rest), True, b"\r" in rest
                    return
                size = len(rest) + len(block)
                returns = b"\r" in block or rest.endswith(b"\r")
                lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
                rest = lines.pop()
                if self.max_bytes is not None and len(rest) > self.max_bytes - self.bytes_read:
                    raise InputTooLarge(self.name, self.max_bytes, self.lines_read)
                if lines:
                    yield lines, size - len(rest), False, returns

    def _counted_block(self, lines: list[bytes], size: int, *, last: bool, returns: bool) -> tuple[int, list[bytes]]:
        """`returns`: whether a `\r` may end a line (else the lines are taken as they are)."""
        first = self.lines_read + 1
        if self.max_bytes is not None and self.bytes_read + size > self.max_bytes:
            for line in lines:  # raises at the line that passes the limit, as `raw_lines` does
                self._counted(line, len(line) + (0 if last else 1))
        self.bytes_read += size
        self.lines_read += len(lines)
        if returns:
            lines = [line.removesuffix(b"\r") for line in lines]
        return first, lines

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
