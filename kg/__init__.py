"""The medical knowledge graph: sources, extraction, relations, stores, export."""
