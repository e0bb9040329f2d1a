"""Sequoia's REST API."""
