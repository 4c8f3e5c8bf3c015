"""Editions out: rendering to Markdown, email HTML and text, and the local preview."""
