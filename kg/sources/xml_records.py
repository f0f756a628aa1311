"""Split an XML dump into its records without parsing the whole file.

PubMed files are ``PubmedArticleSet``\\ s of ``PubmedArticle`` records; Wikipedia
dumps are ``mediawiki`` exports of ``page`` records. :class:`XmlRecordSplitter`
scans the (decompressed) byte stream for a record's start and end tags and yields
each record's bytes with its line number, so that records can be parsed one by
one, in other processes, and a malformed one costs only itself. Memory stays
bounded by one block plus the longest record.

Encodings: a file in UTF-16 or UTF-32 (with a byte-order mark, or a UTF-16
``<?xml`` declaration without one) or in another encoding its XML declaration
names (``encoding="ISO-8859-1"``) is decoded as a stream and handed on as UTF-8,
so records always reach the parser as UTF-8 bytes. A file in which no record is
found at all is reported (``no records``), never read as silently empty.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ctk.kg.sources.compressed import BLOCK_SIZE, Truncation, read_blocks
from ctk.report import ProblemReport

__all__ = ["RawRecord", "XmlRecordSplitter", "detect_encoding", "utf8_blocks"]

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def detect_encoding(head: bytes) -> str:
    """The encoding of an XML file from its first bytes (byte-order mark, declaration).

    Args:
        head: The file's first bytes (a few hundred are enough).

    Returns:
        A codec name; ``utf-8`` when nothing says otherwise.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if head.startswith(b"<\x00?\x00"):
        return "utf-16-le"
    if head.startswith(b"\x00<\x00?"):
        return "utf-16-be"
    m = _DECLARED.match(head)
    if m is not None:
        name = m.group(1).decode("ascii").lower()
        try:
            return codecs.lookup(name).name
        except LookupError:
            return "utf-8"
    return "utf-8"


def utf8_blocks(blocks: Iterator[bytes | Truncation]) -> Iterator[bytes | Truncation]:
    """The blocks of a byte stream re-encoded as UTF-8 (passed through when already UTF-8)."""
    first = next(blocks, None)
    while first is not None and not isinstance(first, Truncation) and len(first) < 4:
        nxt = next(blocks, None)
        if nxt is None or isinstance(nxt, Truncation):
            yield first
            first = nxt
            break
        first += nxt
    if first is None:
        return
    if isinstance(first, Truncation):
        yield first
        return
    encoding = detect_encoding(first[:512])
    if encoding in ("utf-8", "ascii"):
        yield first
        yield from blocks
        return
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    yield decoder.decode(first).encode("utf-8")
    for block in blocks:
        if isinstance(block, Truncation):
            yield block
            return
        yield decoder.decode(block).encode("utf-8")
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The unparsed bytes of one record and where it is.

    Attributes:
        data: The record's bytes (one XML element, one JSON line, one text file).
        path: The file it came from.
        line: Line number (1-based) where the record starts.
        index: Record number in the file (0-based).
    """

    data: bytes
    path: str
    line: int
    index: int

    @property
    def position(self) -> str:
        """``line 12, record 3``: for problem reports."""
        return f"line {self.line}, record {self.index}"


class XmlRecordSplitter:
    """Yield the records (elements named in ``tags``) of an XML file, streamed.

    After iteration, :attr:`truncated` says where the stream stopped early, if it
    did (a truncated archive, or a file cut inside a record); this is also added
    to ``report`` as ``truncated file``.

    Args:
        path: The XML file (plain, gzip or bzip2).
        tags: Local names of the record elements (``PubmedArticle``, ``page``...).
        report: Where truncation is reported.
        block_size: Decompressed bytes read at a time.
    """

    def __init__(
        self,
        path: Path,
        tags: tuple[str, ...],
        report: ProblemReport,
        *,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        self.path = path
        self.tags = tags
        self.report = report
        self.block_size = block_size
        self.truncated: str | None = None
        names = b"|".join(re.escape(t.encode()) for t in tags)
        self._start = re.compile(rb"<(" + names + rb")(?=[\s>/])")

    def __iter__(self) -> Iterator[RawRecord]:
        buf = bytearray()
        counted_to = 0  # newlines in buf[:counted_to] are in line_at
        line_at = 1  # line number at buf[counted_to]
        index = 0
        scan = 0  # where to look for the next start tag in buf
        ended = False
        blocks = utf8_blocks(read_blocks(self.path, self.block_size))
        stop: Truncation | None = None
        consumed = 0  # decompressed bytes dropped from the front of buf

        def line_of(pos: int) -> int:
            nonlocal counted_to, line_at
            if pos > counted_to:
                line_at += buf.count(b"\n", counted_to, pos)
                counted_to = pos
            return line_at

        def drop(k: int) -> None:
            nonlocal counted_to, consumed
            line_of(k)
            del buf[:k]
            counted_to -= k
            consumed += k

        def more() -> None:
            nonlocal ended, stop
            nxt = next(blocks, None)
            if nxt is None:
                ended = True
            elif isinstance(nxt, Truncation):
                stop, ended = nxt, True
            else:
                buf.extend(nxt)

        while True:
            m = self._start.search(buf, scan)
            if m is None:
                if ended:
                    break
                # keep a tail that may hold the beginning of a start tag
                drop(max(scan, len(buf) - 64))
                scan = 0
                more()
                continue
            start = m.start()
            tag = m.group(1)
            gt = buf.find(b">", m.end())
            end = -1
            if gt != -1 and buf[gt - 1 : gt] == b"/":
                end = gt + 1  # a self-closing record
            elif gt != -1:
                close = b"</" + tag + b">"
                pos = buf.find(close, gt)
                end = pos + len(close) if pos != -1 else -1
            if end == -1:
                if ended:  # the file ends inside this record
                    where = f"line {line_of(start)}, record {index}"
                    if stop is None:
                        stop = Truncation(consumed + len(buf), "file ends inside a record")
                    self._truncated(where, stop)
                    return
                drop(start)  # keep buf small: only this record's beginning stays
                scan = 0
                more()
                continue
            # a record whose end tag is missing runs into the next one: cut it there
            nested = self._start.search(buf, m.end(), end)
            if nested is not None and nested.group(1) == tag:
                end = nested.start()
            yield RawRecord(bytes(buf[start:end]), str(self.path), line_of(start), index)
            index += 1
            scan = end
            if scan > self.block_size:
                drop(scan)
                scan = 0
        if stop is not None:
            self._truncated(f"line {line_of(len(buf))}, after record {index - 1}", stop)
        elif index == 0:
            self.report.add(
                "no records",
                str(self.path),
                "whole file",
                f"no <{'>, <'.join(self.tags)}> element found: is it the right format, "
                "and readable in its declared encoding?",
            )

    def _truncated(self, where: str, stop: Truncation) -> None:
        self.truncated = f"{where} (byte {stop.offset}: {stop.reason})"
        self.report.add("truncated file", str(self.path), where, stop.reason)
