"""digest: multilingual news digests from articles, checked before they are published."""

__version__ = "0.1.0"
