"""Sequoia's derivative engines and the Celery worker of the `thumbnails` queue."""
