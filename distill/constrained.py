"""Valid diagnoses by construction: the diagnosis part of the output is decoded under a grammar.

The student's output starts ``### Disease Diagnosed: a, b. ### Rationale: ...``.
:class:`DiagnosisConstraint` is a ``transformers`` logits processor that admits,
until the diagnosis part is complete, only tokens that keep the text a prefix of

    ``### Disease Diagnosed: `` (``none`` | NAME (``, `` NAME)*) ``.``

where each NAME is one of the 25 phenotype short names, in the benchmark's order,
each at most once (the order the training targets use). After the closing ``.``
the model may end (EOS) or go on with `` ### Rationale:``, after which the text is
free. With per-row *forced* names (the decisions of a diagnosis head) the
diagnosis part is exactly ``### Disease Diagnosed: <those names>.``.

The grammar runs over characters, and the vocabulary over the decoded text of
each token, so the same code serves SentencePiece (T5), byte-level BPE (SmolLM2,
Llama, Qwen) and word-level tokenizers, seq2seq and decoder-only students: a
token is admitted when the grammar accepts its characters (a character trie of
the vocabulary is walked together with the grammar, so a step costs the valid
continuations, not the vocabulary size).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from transformers import LogitsProcessor

from ctk.distill.targets import DIAGNOSIS_HEADER, RATIONALE_HEADER
from ctk.phenotypes import phenotypes

__all__ = [
    "FACT_TRIGGERS",
    "DiagnosisConstraint",
    "DiagnosisGrammar",
    "FactConstraint",
    "VocabularyIndex",
    "diagnosis_prefix",
    "rationale_facts",
    "vocabulary_index",
]

_NONE = "none"
_NONE_INDEX = -2
# grammar states (tuples, hashable):
#   ("hdr", k, spaced)          matching the header (k chars done); one leading space allowed
#   ("name", node, last, first) inside a name; node of the name trie; last: index of the previous
#                               name (-1 none yet); first: 1 before the first name
#   ("sep", last)               after ",", expecting " "
#   ("force", text, k, spaced)  forced diagnosis text (k chars done)
#   ("after", k)                after the closing ".": EOS (k=0) or " ### Rationale:" (k chars)
#   ("free",)                   the rationale: anything
_FREE: tuple[Any, ...] = ("free",)
_HDR = DIAGNOSIS_HEADER + " "
_AFTER = " " + RATIONALE_HEADER


def diagnosis_prefix(short_names: Sequence[str]) -> str:
    """The diagnosis part for the given short names (``none`` when empty)."""
    return f"{DIAGNOSIS_HEADER} {', '.join(short_names) if short_names else _NONE}."


def _keep_only(scores: Tensor, row: int, allowed: list[int]) -> None:
    """Mask every token of ``row`` but ``allowed`` (in place; nothing when none is allowed).

    When every allowed token was already banned (e.g. by a repetition rule), they are
    admitted with equal scores rather than leave the row with no token at all.
    """
    if not allowed:
        return
    keep = torch.tensor(allowed, dtype=torch.long, device=scores.device)
    kept = scores[row, keep]
    if torch.isinf(kept).all():
        kept = torch.zeros_like(kept)
    scores[row] = float("-inf")
    scores[row, keep] = kept


@dataclass
class _Node:
    children: dict[str, int] = field(default_factory=dict)
    end: int | None = None  # name index ending here (_NONE_INDEX for "none")
    reach: set[int] = field(default_factory=set)  # name indices below (and at) this node


class DiagnosisGrammar:
    """The character automaton of the diagnosis part.

    Args:
        names: Phenotype short names, in the benchmark's order (default: the 25).
    """

    def __init__(self, names: Sequence[str] | None = None) -> None:
        self.names = list(names) if names is not None else [p.short_name for p in phenotypes()]
        self.nodes: list[_Node] = [_Node()]
        for i, name in enumerate(self.names):
            self._add(name, i)
        self._add(_NONE, _NONE_INDEX)

    def _add(self, word: str, index: int) -> None:
        node = 0
        self.nodes[0].reach.add(index)
        for ch in word:
            nxt = self.nodes[node].children.get(ch)
            if nxt is None:
                nxt = len(self.nodes)
                self.nodes.append(_Node())
                self.nodes[node].children[ch] = nxt
            node = nxt
            self.nodes[node].reach.add(index)
        self.nodes[node].end = index

    def start(self, forced: Sequence[str] | None = None) -> tuple[Any, ...]:
        """The initial state (free choice, or the forced short names)."""
        if forced is None:
            return ("hdr", 0, 0)
        return ("force", diagnosis_prefix(forced), 0, 0)

    @staticmethod
    def is_free(state: tuple[Any, ...]) -> bool:
        """Whether the diagnosis part is over and the rationale is being written."""
        return state == _FREE

    @staticmethod
    def accepts_end(state: tuple[Any, ...]) -> bool:
        """Whether the output may end (EOS) in this state."""
        return state == ("after", 0) or state == _FREE

    def _name_ok(self, node: int, last: int, first: int) -> bool:
        reach = self.nodes[node].reach
        return any(i > last for i in reach if i >= 0) or (bool(first) and _NONE_INDEX in reach)

    def step(self, state: tuple[Any, ...], ch: str) -> tuple[Any, ...] | None:
        """The state after one character, or None when the character is not allowed."""
        kind = state[0]
        if kind == "free":
            return state
        if kind == "hdr":
            _, k, spaced = state
            if k == 0 and ch == " " and not spaced:
                return ("hdr", 0, 1)
            if ch != _HDR[k]:
                return None
            return ("name", 0, -1, 1) if k + 1 == len(_HDR) else ("hdr", k + 1, 1)
        if kind == "name":
            _, node, last, first = state
            end = self.nodes[node].end
            if end is not None and (end > last or (end == _NONE_INDEX and first)):
                if ch == ".":
                    return ("after", 0)
                if ch == "," and end != _NONE_INDEX and end + 1 < len(self.names):
                    return ("sep", end)
            child = self.nodes[node].children.get(ch)
            if child is None or not self._name_ok(child, last, first):
                return None
            return ("name", child, last, first)
        if kind == "sep":
            return ("name", 0, state[1], 0) if ch == " " else None
        if kind == "force":
            _, text, k, spaced = state
            if k == 0 and ch == " " and not spaced:
                return ("force", text, 0, 1)
            if ch != text[k]:
                return None
            return ("after", 0) if k + 1 == len(text) else ("force", text, k + 1, 1)
        if kind == "after":
            k = state[1]
            if ch != _AFTER[k]:
                return None
            return _FREE if k + 1 == len(_AFTER) else ("after", k + 1)
        raise AssertionError(f"unknown grammar state {state!r}")

    def walk(self, state: tuple[Any, ...] | None, text: str) -> tuple[Any, ...] | None:
        """The state after ``text`` (None once a character is not allowed)."""
        for ch in text:
            if state is None or state == _FREE:
                return state
            state = self.step(state, ch)
        return state


@dataclass
class _VNode:
    children: dict[str, _VNode] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)
    below: list[int] | None = None  # every id in this subtree (filled on first use)


class VocabularyIndex:
    """The decoded text of every token of a tokenizer, as a character trie.

    Args:
        tokenizer: A ``transformers`` tokenizer.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.eos_token_id: int | None = tokenizer.eos_token_id
        special = set(tokenizer.all_special_ids)
        ref = tokenizer("a", add_special_tokens=False)["input_ids"][-1]
        ref_text = tokenizer.decode([ref], clean_up_tokenization_spaces=False)
        ids = [i for i in range(len(tokenizer)) if i not in special]
        decoded = tokenizer.batch_decode(
            [[ref, i] for i in ids], clean_up_tokenization_spaces=False
        )
        self.size = len(tokenizer)
        self.text: dict[int, str] = {}
        self.root = _VNode()
        for i, full in zip(ids, decoded, strict=True):
            piece = full[len(ref_text) :] if full.startswith(ref_text) else ""
            if not piece or "\ufffd" in piece:
                continue  # partial UTF-8 bytes or unknown pieces never enter the diagnosis part
            self.text[i] = piece
            node = self.root
            for ch in piece:
                node = node.children.setdefault(ch, _VNode())
            node.ids.append(i)

    @staticmethod
    def _below(node: _VNode) -> list[int]:
        if node.below is None:
            out = list(node.ids)
            for child in node.children.values():
                out.extend(VocabularyIndex._below(child))
            node.below = out
        return node.below


class DiagnosisConstraint(LogitsProcessor):  # type: ignore[misc]
    """A ``transformers`` logits processor: diagnoses only from the grammar.

    Use one instance per ``generate`` call (it remembers where generation started).

    Args:
        vocabulary: The tokenizer's :class:`VocabularyIndex`.
        grammar: The grammar (default: the 25 phenotype short names).
        forced: Per example, the short names a diagnosis head chose (None: free choice
            among the valid names).
        num_beams: Beams per example (rows of ``input_ids`` are example-major).

    Example:
        >>> index = VocabularyIndex(tokenizer)  # doctest: +SKIP
        >>> model.generate(..., logits_processor=[DiagnosisConstraint(index)])  # doctest: +SKIP
    """

    def __init__(
        self,
        vocabulary: VocabularyIndex,
        grammar: DiagnosisGrammar | None = None,
        forced: Sequence[Sequence[str]] | None = None,
        num_beams: int = 1,
    ) -> None:
        self.vocab = vocabulary
        self.grammar = grammar or DiagnosisGrammar()
        self.forced = forced
        self.num_beams = num_beams
        self.start: int | None = None
        self._states: dict[tuple[int, tuple[int, ...]], tuple[Any, ...] | None] = {}
        self._allowed: dict[tuple[Any, ...], list[int]] = {}
        self._viable_memo: dict[tuple[Any, ...], bool] = {}

    def _state(self, example: int, ids: tuple[int, ...]) -> tuple[Any, ...] | None:
        key = (example, ids)
        if key in self._states:
            return self._states[key]
        if not ids:
            forced = self.forced[example] if self.forced is not None else None
            state: tuple[Any, ...] | None = self.grammar.start(forced)
        else:
            prev = self._state(example, ids[:-1])
            text = self.vocab.text.get(ids[-1])
            state = None if prev is None or text is None else self.grammar.walk(prev, text)
        self._states[key] = state
        return state

    def _transitions(self, state: tuple[Any, ...]) -> list[tuple[int, tuple[Any, ...]]]:
        """Every token the grammar accepts from ``state``, with the state after it."""
        out: list[tuple[int, tuple[Any, ...]]] = []
        stack = [(self.vocab.root, state)]
        while stack:
            node, st = stack.pop()
            for ch, child in node.children.items():
                nxt = self.grammar.step(st, ch)
                if nxt is None:
                    continue
                if self.grammar.is_free(nxt):
                    out.extend((i, nxt) for i in VocabularyIndex._below(child))
                    continue
                out.extend((i, nxt) for i in child.ids)
                stack.append((child, nxt))
        return out

    def _viable(self, state: tuple[Any, ...]) -> bool:
        """Whether some token sequence leads from ``state`` to a complete diagnosis part.

        A token can be a valid prefix and still lead nowhere ("Diagnose" where only
        "Diagnosed:" goes on); such tokens are not admitted. Depth-first over the
        grammar's states (a DAG but for the leading space), iteratively: with
        one-character tokens a path is hundreds of states long.
        """
        done = self._viable_memo

        def terminal(st: tuple[Any, ...]) -> bool:
            return self.grammar.is_free(st) or self.grammar.accepts_end(st) or done.get(st) is True

        if terminal(state):
            return True
        if state in done:
            return done[state]

        def successors(st: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
            return iter({nxt for _, nxt in self._transitions(st) if nxt != st})

        done[state] = False
        path: list[tuple[tuple[Any, ...], Iterator[tuple[Any, ...]]]] = [(state, successors(state))]
        while path:
            _, pending = path[-1]
            for nxt in pending:
                if terminal(nxt):
                    for st, _ in path:  # every state on the path reaches the end
                        done[st] = True
                    return True
                if nxt not in done:
                    done[nxt] = False
                    path.append((nxt, successors(nxt)))
                    break
            else:
                path.pop()  # exhausted: stays False
        return False

    def allowed(self, state: tuple[Any, ...]) -> list[int]:
        """Token ids the grammar accepts from ``state`` and that can still complete it
        (EOS included where the output may end)."""
        if state in self._allowed:
            return self._allowed[state]
        out: list[int] = []
        if self.grammar.accepts_end(state) and self.vocab.eos_token_id is not None:
            out.append(self.vocab.eos_token_id)
        out.extend(i for i, nxt in self._transitions(state) if self._viable(nxt))
        self._allowed[state] = out
        return out

    def __call__(self, input_ids: Tensor, scores: Tensor) -> Tensor:
        """Mask the scores of tokens the grammar does not admit (rows past it are left alone)."""
        if self.start is None:
            self.start = int(input_ids.shape[1])
        eos = self.vocab.eos_token_id
        for row in range(input_ids.shape[0]):
            ids = tuple(int(x) for x in input_ids[row, self.start :].tolist())
            if eos is not None and eos in ids:
                continue  # finished row: generate pads it
            state = self._state(row // self.num_beams, ids)
            if state is None or self.grammar.is_free(state):
                continue
            _keep_only(scores, row, self.allowed(state))
        return scores


def vocabulary_index(tokenizer: Any) -> VocabularyIndex:
    """The tokenizer's :class:`VocabularyIndex`, built once per tokenizer object."""
    index = getattr(tokenizer, "_ctk_vocabulary_index", None)
    if not isinstance(index, VocabularyIndex) or index.size != len(tokenizer):
        index = VocabularyIndex(tokenizer)
        tokenizer._ctk_vocabulary_index = index
    return index


#: Where the teacher states a graph fact in a rationale ("Known: X treats Y. [E1]",
#: "Related knowledge: X is associated with Y."): the sentence after it is a fact.
FACT_TRIGGERS = ("Known:", "Related knowledge:")
_FACT = re.compile("(?:" + "|".join(map(re.escape, FACT_TRIGGERS)) + r")\s+([^.\[\]]+\.)")


def rationale_facts(texts: Iterable[str]) -> list[str]:
    """The fact sentences the teacher's rationales state ("Known: <fact>."), sorted, each once.

    Example:
        >>> rationale_facts(["Known: Furosemide treats heart failure. [E1] Known: Edema."])
        ['Edema.', 'Furosemide treats heart failure.']
    """
    return sorted({m.group(1).strip() for t in texts for m in _FACT.finditer(t)})


class _FactTrie:
    """The character trie of some fact sentences, walked with a tokenizer's vocabulary."""

    def __init__(self, vocabulary: VocabularyIndex, facts: Iterable[str]) -> None:
        self.vocab = vocabulary
        self.trie: list[dict[str, int]] = [{}]
        self.ends: set[int] = set()
        for fact in facts:
            node = 0
            for ch in " " + fact.strip():
                nxt = self.trie[node].get(ch)
                if nxt is None:
                    nxt = len(self.trie)
                    self.trie.append({})
                    self.trie[node][ch] = nxt
                node = nxt
            self.ends.add(node)
        self._allowed: dict[int, list[int]] = {}
        self._viable_memo: dict[int, bool] = {}

    def node(self, tail: str) -> int | None:
        """The node after ``tail`` (the text after a trigger); None when it is not inside a
        fact: complete (free again), or not a prefix of one."""
        node = 0
        for ch in tail:
            if node in self.ends:
                return None
            nxt = self.trie[node].get(ch)
            if nxt is None:
                return None
            node = nxt
        return None if node in self.ends else node

    def _transitions(self, node: int) -> list[tuple[int, int | None]]:
        """Each token that keeps the fact a prefix of one, and the node after it (None: the
        fact is complete inside the token; what follows is free)."""
        out: list[tuple[int, int | None]] = []
        stack = [(self.vocab.root, node)]
        while stack:
            vnode, fnode = stack.pop()
            for ch, child in vnode.children.items():
                nxt = self.trie[fnode].get(ch)
                if nxt is None:
                    continue
                if nxt in self.ends:
                    out.extend((i, None) for i in VocabularyIndex._below(child))
                    continue
                out.extend((i, nxt) for i in child.ids)
                stack.append((child, nxt))
        return out

    def _viable(self, node: int) -> bool:
        """Whether some tokens lead from ``node`` to the end of a fact (no dead end: a
        tokenizer may lack the piece a fact needs next). Tokens only go deeper: no cycle."""
        if node not in self._viable_memo:
            self._viable_memo[node] = any(
                nxt is None or self._viable(nxt) for _, nxt in self._transitions(node)
            )
        return self._viable_memo[node]

    def allowed(self, node: int) -> list[int]:
        """Tokens that keep the fact a prefix of one that can be completed (or complete it)."""
        if node not in self._allowed:
            self._allowed[node] = [
                i for i, nxt in self._transitions(node) if nxt is None or self._viable(nxt)
            ]
        return self._allowed[node]


class FactConstraint(LogitsProcessor):  # type: ignore[misc]
    """A ``transformers`` logits processor: a stated fact is one the student was taught.

    In the rationale (after ``### Rationale:``), the sentence after "Known:" or
    "Related knowledge:" must be one of ``facts`` (the fact sentences of the teacher's
    training rationales, each a graph edge the teacher's gate checked) not stated
    before in the same rationale; the rest of the text stays free. Runs beside
    :class:`DiagnosisConstraint`, over the same :class:`VocabularyIndex`, so any
    tokenizer and either student kind.

    Args:
        vocabulary: The tokenizer's :class:`VocabularyIndex`.
        facts: The fact sentences (e.g. "Furosemide treats heart failure.").

    Raises:
        ValueError: No facts.
    """

    def __init__(self, vocabulary: VocabularyIndex, facts: Sequence[str]) -> None:
        if not facts:
            raise ValueError("FactConstraint needs at least one fact sentence")
        self.vocab = vocabulary
        self.facts = sorted({f.strip() for f in facts})
        self.start: int | None = None
        self._tries: dict[frozenset[str], _FactTrie] = {}

    def _trie(self, stated: frozenset[str]) -> _FactTrie:
        if stated not in self._tries:
            self._tries[stated] = _FactTrie(self.vocab, [f for f in self.facts if f not in stated])
        return self._tries[stated]

    def where(self, text: str) -> tuple[_FactTrie, int] | None:
        """The trie of the facts not yet stated and the node ``text`` is at in it, or None
        when no fact is being written."""
        header = text.find(RATIONALE_HEADER)
        if header < 0:
            return None
        body = text[header + len(RATIONALE_HEADER) :]
        at = max((body.rfind(t) + len(t) for t in FACT_TRIGGERS if t in body), default=-1)
        if at < 0:
            return None
        done = body[:at]
        stated = frozenset(f for f in self.facts if any(f"{t} {f}" in done for t in FACT_TRIGGERS))
        trie = self._trie(stated)
        node = trie.node(body[at:])
        return None if node is None else (trie, node)

    def __call__(self, input_ids: Tensor, scores: Tensor) -> Tensor:
        """Mask the tokens that would state a fact the student was not taught."""
        if self.start is None:
            self.start = int(input_ids.shape[1])
        eos = self.vocab.eos_token_id
        for row in range(input_ids.shape[0]):
            ids = [int(x) for x in input_ids[row, self.start :].tolist()]
            if eos is not None and eos in ids:
                continue
            found = self.where("".join(self.vocab.text.get(i, "") for i in ids))
            if found is None:
                continue
            trie, node = found
            _keep_only(scores, row, trie.allowed(node))
        return scores
