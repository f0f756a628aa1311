"""Built-in concept extractors (entry-point group ``ctk.extractors``).

* :class:`DictionaryExtractor` (``dictionary``): the offline default, Aho-Corasick
  matching over the bundled vocabulary;
* :class:`LLMExtractor` (``llm``): asks an LLM backend for the concepts of a sentence.
"""

from ctk.plugins.extractors.dictionary import DictionaryExtractor
from ctk.plugins.extractors.llm import LLMExtractor, TextGenerator, backend_generator

__all__ = ["DictionaryExtractor", "LLMExtractor", "TextGenerator", "backend_generator"]
