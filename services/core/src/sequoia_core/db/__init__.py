"""Postgres access: a pool, the migration runner and one repository module per table."""
