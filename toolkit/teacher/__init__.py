"""The teacher step: retrieve evidence, prompt an LLM, validate, cache and check rationales.

* :mod:`~ctk.teacher.backend`: the LLM backend plugin base, requests, retries, data policy;
* :mod:`~ctk.teacher.prompts`: the versioned prompt templates;
* :mod:`~ctk.teacher.inputs` and :mod:`~ctk.teacher.answer`: what the teacher reads and
  the JSON answer it must write;
* :mod:`~ctk.teacher.cache` and :mod:`~ctk.teacher.output`: the input-hash cache and the
  durable, resumable rationale JSONL;
* :mod:`~ctk.teacher.generation`: the concurrent run (:class:`GenerationConfig`);
* :mod:`~ctk.teacher.factory`: :func:`build_teacher`, the one entry point the CLI and a
  Python user share;
* :mod:`~ctk.teacher.check`: rationales checked against the graph;
* :mod:`~ctk.teacher.server`: a local llama.cpp teacher server.
"""

from ctk.llm import ChatMessage, LLMBackend, LLMRequest, LLMResponse
from ctk.teacher.check import CheckReport, check_rationales
from ctk.teacher.factory import BackendSettings, Teacher, TeacherConfig, build_teacher
from ctk.teacher.generation import (
    GenerationConfig,
    GenerationProgress,
    GenerationSummary,
    agenerate_rationales,
    generate_rationales,
)
from ctk.teacher.output import RationaleWriter, read_rationales

__all__ = [
    "BackendSettings",
    "ChatMessage",
    "CheckReport",
    "GenerationConfig",
    "GenerationProgress",
    "GenerationSummary",
    "LLMBackend",
    "LLMRequest",
    "LLMResponse",
    "RationaleWriter",
    "Teacher",
    "TeacherConfig",
    "agenerate_rationales",
    "build_teacher",
    "check_rationales",
    "generate_rationales",
    "read_rationales",
]
