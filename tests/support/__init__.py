"""Test helpers shared by the whole suite (importable as ``support`` via tests/conftest.py)."""
