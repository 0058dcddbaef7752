"""implementations/backends."""
