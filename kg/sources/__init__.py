"""Streaming document sources: PubMed XML, Wikipedia dumps, plain text / JSONL."""
