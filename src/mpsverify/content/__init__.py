"""Content analysis: links, lookalike domains, display names and attachments."""
