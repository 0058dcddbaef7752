"""implementations/problems."""
