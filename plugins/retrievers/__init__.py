"""Built-in retrievers: graph, vector, bm25, hybrid."""
