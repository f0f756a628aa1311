"""Built-in plugins: retrievers and LLM backends, registered through entry points."""
