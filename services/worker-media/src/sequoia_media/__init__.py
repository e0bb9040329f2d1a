"""Sequoia's worker for the `media` and `default` queues."""
