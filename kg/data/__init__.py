"""Package data of the knowledge graph: the medical vocabulary, schema."""
