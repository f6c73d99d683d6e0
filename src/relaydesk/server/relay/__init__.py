"""Pairing the two ends of a tunnel and moving their bytes, without parsing them."""
