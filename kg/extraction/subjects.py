"""Whose study is it: animal-only studies, from MeSH check tags or from the text.

A study of mice says nothing clinical about the pairs it mentions
("bleomycin-induced pulmonary fibrosis in mice"), so the co-occurrence counter
counts its concepts but not its pairs (:mod:`ctk.kg.extraction.cooccurrence`).

* A citation **with** MeSH headings is animal-only when the indexers tagged it
  ``Animals`` and not ``Humans`` (the MeSH check tags).
* A citation **without** MeSH headings (not indexed yet: most of a recent
  baseline file) is animal-only when its title and abstract speak of animal
  subjects (:data:`ANIMAL_WORDS`: mice, rats, murine, rodent, porcine or canine
  models...) and of no human subjects (:data:`HUMAN_WORDS`: patients,
  participants, men, women, children, humans, cases, cohort...). A text that
  names both (a mouse model and a patient cohort) counts as human. The
  adjective "human" alone ("human lung fibroblasts", "human cells") names no
  human subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["ANIMAL_WORDS", "HUMAN_WORDS", "animal_only", "animal_only_text"]

#: Words that name animal subjects of a study (lower case, whole words).
ANIMAL_WORDS: tuple[str, ...] = (
    "mice", "mouse", "murine", "rat", "rats", "rodent", "rodents", "hamster", "hamsters",
    "guinea pig", "guinea pigs", "rabbit", "rabbits", "porcine", "pig", "pigs", "piglet",
    "piglets", "swine", "minipig", "minipigs", "canine", "dog", "dogs", "beagle", "beagles",
    "feline", "cats", "ovine", "sheep", "lamb", "lambs", "ewe", "ewes", "bovine",
    "cattle", "calves", "cows", "equine", "horse", "horses", "pony", "ponies",
    "goat", "goats", "caprine", "primate", "primates", "macaque", "macaques", "monkey",
    "monkeys", "baboon", "baboons", "zebrafish", "drosophila", "xenopus", "avian", "chicken",
    "chickens", "broiler", "broilers", "animal", "animals",
)  # fmt: skip

#: Words that name human subjects of a study (lower case, whole words).
HUMAN_WORDS: tuple[str, ...] = (
    "patient", "patients", "participant", "participants", "man", "men", "woman", "women",
    "child", "children", "boy", "boys", "girl", "girls", "infant", "infants", "neonate",
    "neonates", "newborn", "newborns", "adolescent", "adolescents", "adult", "adults",
    "humans", "human subjects", "human participants", "human volunteers", "volunteer",
    "volunteers", "person", "persons", "people",
    "individuals", "case", "cases", "cohort", "cohorts", "pregnant", "pregnancy",
    "mother", "mothers", "population", "subjects", "respondents", "survey",
    "outpatients", "inpatients", "veterans", "residents", "students", "workers",
)  # fmt: skip


def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted((re.escape(w).replace(r"\ ", r"\s+") for w in words), key=len)
    return re.compile(r"\b(?:" + "|".join(reversed(alternatives)) + r")\b", re.IGNORECASE)


_ANIMAL = _pattern(ANIMAL_WORDS)
_HUMAN = _pattern(HUMAN_WORDS)


def animal_only_text(passages: Iterable[str]) -> bool:
    """The text speaks of animal subjects and of no human subjects.

    Example:
        >>> animal_only_text(["Bleomycin-induced pulmonary fibrosis in mice."])
        True
        >>> animal_only_text(["Fibrosis in mice and in patients with scleroderma."])
        False
    """
    animal = False
    for text in passages:
        if _HUMAN.search(text):
            return False
        animal = animal or _ANIMAL.search(text) is not None
    return animal


def animal_only(mesh_terms: Sequence[str], passages: Iterable[str]) -> bool:
    """An animal-only study: by its MeSH check tags, or by its text where it has no MeSH.

    Args:
        mesh_terms: The citation's MeSH headings (empty when not indexed yet).
        passages: Its title and abstract.
    """
    if mesh_terms:
        return "Animals" in mesh_terms and "Humans" not in mesh_terms
    return animal_only_text(passages)
