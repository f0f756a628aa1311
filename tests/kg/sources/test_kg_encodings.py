"""Dumps in UTF-16, UTF-32 or a declared 8-bit encoding are read; an empty read is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctk.kg.sources.spec import open_source
from ctk.kg.sources.xml_records import detect_encoding
from ctk.report import ProblemReport

_WIKI = """<?xml version="1.0" encoding="{enc}"?>
<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">
  <page>
    <title>Ménière's disease</title>
    <ns>0</ns>
    <id>1</id>
    <revision><id>2</id><text xml:space="preserve">'''Ménière's disease''' causes vertigo.
[[Category:Diseases of the ear]]</text></revision>
  </page>
  <page>
    <title>Heart failure</title>
    <ns>0</ns>
    <id>3</id>
    <revision><id>4</id><text xml:space="preserve">Heart failure causes dyspnea.
[[Category:Cardiology]]</text></revision>
  </page>
</mediawiki>
"""


def _read(path: Path) -> tuple[list[str], ProblemReport]:
    report = ProblemReport()
    docs = list(open_source(f"wikipedia:{path}").iter_documents(report))
    return [d.title for d in docs], report


@pytest.mark.parametrize(
    ("declared", "codec", "bom"),
    [
        ("UTF-16", "utf-16-le", b"\xff\xfe"),
        ("UTF-16", "utf-16-be", b"\xfe\xff"),
        ("UTF-16", "utf-16-le", b""),  # no byte-order mark: the declaration's bytes say it
        ("UTF-32", "utf-32-le", b"\xff\xfe\x00\x00"),
        ("ISO-8859-1", "latin-1", b""),
        ("UTF-8", "utf-8", b"\xef\xbb\xbf"),
    ],
)
def test_declared_and_marked_encodings_are_read(
    tmp_path: Path, declared: str, codec: str, bom: bytes
) -> None:
    path = tmp_path / "dump.xml"
    path.write_bytes(bom + _WIKI.format(enc=declared).encode(codec))
    titles, report = _read(path)
    assert titles == ["Ménière's disease", "Heart failure"]
    assert report.total == 0


def test_encoding_detection() -> None:
    assert detect_encoding(b"\xff\xfe<\x00") == "utf-16-le"
    assert detect_encoding(b'<?xml version="1.0" encoding="iso-8859-1"?>') == "iso8859-1"
    assert detect_encoding(b"<?xml version='1.0' encoding='no-such-codec'?>") == "utf-8"
    assert detect_encoding(b"<PubmedArticleSet>") == "utf-8"


def test_a_file_with_no_records_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_text("<mediawiki>\n</mediawiki>\n")
    titles, report = _read(path)
    assert titles == []
    assert report.counts["no records"] == 1
    assert "right format" in report.examples[0].detail
