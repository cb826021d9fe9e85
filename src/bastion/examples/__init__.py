"""Commented example bot configs (``bastion bot template TYPE`` prints one)."""
