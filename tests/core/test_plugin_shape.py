"""The three plugin kinds share one shape: ``name``, an ``Options`` model that refuses
unknown keys, validated ``options``, and a public method that checks the plugin's own."""

from __future__ import annotations

import pickle

import pytest

from ctk.errors import ConfigError, ExtractionError
from ctk.extraction import ConceptExtractor, Mention
from ctk.plugin import Plugin
from ctk.registry import REGISTRIES
from ctk.teacher.backend import LLMBackend


@pytest.mark.parametrize("group", sorted(REGISTRIES))
def test_every_builtin_has_the_shared_shape(group: str) -> None:
    registry = REGISTRIES[group]
    for name in registry.names():
        cls = registry.get(name)
        assert issubclass(cls, Plugin) and cls.name == name
        with pytest.raises(ConfigError, match=f"unknown option for {cls.kind} {name!r}"):
            cls.parse_options({"no_such_option": 1})


def test_llm_backends_refuse_unknown_options_too() -> None:
    template = REGISTRIES["ctk.llm_backends"].get("template")
    with pytest.raises(ConfigError, match="unknown option for LLM backend 'template': tempo"):
        template({"tempo": 1})
    assert issubclass(template, LLMBackend)


class _Broken(ConceptExtractor):
    name = "broken"

    def _extract(self, sentence: str) -> list[Mention]:
        raise KeyError("boom")


class _OutOfBounds(ConceptExtractor):
    name = "out-of-bounds"

    def _extract(self, sentence: str) -> list[Mention]:
        return [Mention("x:b", "b", "finding", 5, 9), Mention("x:a", "a", "finding", 0, 50)]


class _Unsorted(ConceptExtractor):
    name = "unsorted"

    def _extract(self, sentence: str) -> list[Mention]:
        return [Mention("x:b", "b", "finding", 4, 5), Mention("x:a", "a", "finding", 0, 1)]


def test_extract_wraps_and_checks_the_plugin() -> None:
    with pytest.raises(ExtractionError, match=r"extractor 'broken' failed: KeyError"):
        _Broken().extract("a sentence")
    with pytest.raises(ExtractionError, match="span 0:50 outside a sentence of 10"):
        _OutOfBounds().extract("a sentence")
    assert [m.concept_id for m in _Unsorted().extract("a b c d e")] == ["x:a", "x:b"]
    with pytest.raises(ConfigError, match="unknown option for extractor 'unsorted'"):
        _Unsorted({"x": 1})


def test_dictionary_extractor_options_survive_pickling() -> None:
    cls = REGISTRIES["ctk.extractors"].get("dictionary")
    ex = cls({"negation": False, "types": ["symptom"]})
    again = pickle.loads(pickle.dumps(ex))
    assert again.options == ex.options
    [m] = again.extract("No dyspnea.")
    assert m.concept_id == "ctk:dyspnea" and not m.negated
