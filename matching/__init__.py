"""Matching: pure functions deciding who each address is. No I/O."""
