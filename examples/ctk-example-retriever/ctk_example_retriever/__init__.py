"""An example ctk retriever plugin: keyword overlap over your own snippets or the graph's."""

from ctk_example_retriever.keyword import KeywordRetriever, KeywordRetrieverOptions

__all__ = ["KeywordRetriever", "KeywordRetrieverOptions"]
