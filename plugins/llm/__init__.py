"""Built-in LLM backends: openai, langchain, transformers, template."""
