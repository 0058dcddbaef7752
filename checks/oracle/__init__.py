"""Exact expected-trajectory oracles (check kind ``oracle``): see :mod:`.moments` for the maths."""
