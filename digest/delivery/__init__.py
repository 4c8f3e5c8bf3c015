"""Editions to readers: mail over SMTP and the subscriber list."""
