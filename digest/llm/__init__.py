"""The LLM side: the wire (the only importer of openai), the client's retries and JSON mode,
pacing, the capability probe, the endpoint or embedded local model behind them, asking with
re-asks, and the Batch API."""
