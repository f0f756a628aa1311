"""The local teacher is a real llama.cpp server speaking the OpenAI API."""

from __future__ import annotations

import json

import httpx
import pytest

from ctk.errors import ConfigError
from ctk.teacher.server import LocalTeacherServer, default_gguf

pytestmark = pytest.mark.llm_server


def test_default_model_comes_from_the_installed_package() -> None:
    path = default_gguf()
    assert path.suffix == ".gguf" and path.is_file()
    assert "site-packages" in path.parts or "dist-packages" in path.parts


def test_missing_model_file_is_a_config_error(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        LocalTeacherServer("/nonexistent/model.gguf")


def test_server_answers_with_schema_constrained_json(local_teacher_url: str) -> None:
    schema = {
        "type": "object",
        "properties": {"diagnosis": {"type": "string"}, "reason": {"type": "string"}},
        "required": ["diagnosis", "reason"],
    }
    resp = httpx.post(
        f"{local_teacher_url}/chat/completions",
        json={
            "messages": [{"role": "user", "content": "Edema and dyspnea: which disease? JSON."}],
            "max_tokens": 80,
            "temperature": 0,
            "response_format": {"type": "json_object", "schema": schema},
        },
        timeout=60,
    )
    resp.raise_for_status()
    body = resp.json()
    answer = json.loads(body["choices"][0]["message"]["content"])
    assert set(answer) >= {"diagnosis", "reason"}
    assert body["usage"]["completion_tokens"] > 0
