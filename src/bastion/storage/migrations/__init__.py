"""Alembic migrations of Bastion's schema; run them with :func:`bastion.storage.db.upgrade`."""
