"""Open plain, gzip and bzip2 files as byte streams, and read them in blocks.

Compressed inputs are decompressed as streams (never loaded whole). A truncated
or corrupt archive raises :class:`EOFError` / :class:`OSError` part-way through;
:func:`read_blocks` turns that into a :class:`Truncation` (where reading stopped)
so that a caller keeps what was read and reports the rest.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BLOCK_SIZE", "Truncation", "compression_of", "open_stream", "read_blocks"]

#: Bytes read (after decompression) per block.
BLOCK_SIZE = 1 << 20

_GZIP_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"


def compression_of(path: Path) -> str:
    """``"gzip"``, ``"bz2"`` or ``""``, from the file's first bytes (not its name)."""
    with path.open("rb") as f:
        head = f.read(3)
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_BZ2_MAGIC):
        return "bz2"
    return ""


def open_stream(path: Path) -> io.BufferedIOBase:
    """Open a file for streaming reads, decompressing gzip or bzip2 on the fly.

    Args:
        path: A plain, ``.gz`` or ``.bz2`` file (detected by content).

    Returns:
        A binary stream of the decompressed bytes.
    """
    kind = compression_of(path)
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bz2":
        return bz2.open(path, "rb")
    return path.open("rb")


@dataclass(frozen=True, slots=True)
class Truncation:
    """Where a stream stopped early.

    Attributes:
        offset: Decompressed bytes read before the stream failed.
        reason: The decompressor's message.
    """

    offset: int
    reason: str


def read_blocks(path: Path, block_size: int = BLOCK_SIZE) -> Iterator[bytes | Truncation]:
    """Yield decompressed blocks; a final :class:`Truncation` if the stream ends early.

    Args:
        path: The file to read.
        block_size: Decompressed bytes per block.

    Yields:
        Byte blocks, then at most one :class:`Truncation` (nothing more follows it).
    """
    offset = 0
    with open_stream(path) as stream:
        while True:
            block = bytearray()
            failure: BaseException | None = None
            while len(block) < block_size:
                try:
                    # read1: what the decompressor has, so a failure loses little
                    piece = stream.read1(block_size - len(block))
                except (EOFError, OSError, zlib.error) as e:
                    failure = e
                    break
                if not piece:
                    break
                block += piece
            if block:
                offset += len(block)
                yield bytes(block)
            if failure is not None:
                yield Truncation(offset, str(failure) or type(failure).__name__)
                return
            if len(block) < block_size:
                return
