"""The LLM side: the openai client (the only importer of openai), the endpoint or embedded
local model behind it, asking with re-asks, and the Batch API."""
