"""Streaming document sources: PubMed XML, Wikipedia dumps, plain text / JSONL.

``open_source("pubmed:PATH")`` lists a source's files; ``Source.iter_documents()``
streams its :class:`Document`\\ s (and PubMed :class:`Deletion`\\ s) with bounded
memory, reading ``.gz`` and ``.bz2`` files as streams.
"""

from ctk.kg.sources.base import SourceFormat
from ctk.kg.sources.document import Deletion, Document, Section
from ctk.kg.sources.pubmed import PubMedFormat
from ctk.kg.sources.spec import FORMATS, Source, open_source
from ctk.kg.sources.text import TextFormat
from ctk.kg.sources.wikipedia import MEDICAL_CATEGORY_WORDS, WikipediaFormat
from ctk.kg.sources.xml_records import RawRecord

__all__ = [
    "FORMATS",
    "MEDICAL_CATEGORY_WORDS",
    "Deletion",
    "Document",
    "PubMedFormat",
    "RawRecord",
    "Section",
    "Source",
    "SourceFormat",
    "TextFormat",
    "WikipediaFormat",
    "open_source",
]
