"""implementations/rules."""
