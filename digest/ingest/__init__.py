"""Turning an article's text into the units the checks cite: numbered sentences."""
