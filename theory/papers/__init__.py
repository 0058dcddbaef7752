"""theory/papers."""
