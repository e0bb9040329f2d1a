"""Shared code for every Sequoia service: settings, database, storage, Celery wiring, media types."""
