"""implementations."""
