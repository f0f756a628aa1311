"""Concept extraction (extractor plugins) and relation building."""
