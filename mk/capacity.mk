# Capacity (docs/capacity.md): what an item costs the real services, and Postgres bytes per item.
.PHONY: bench-capacity

bench-capacity: install ## per-item CPU, S3 bytes, Redis commands, Postgres writes per kind; table bytes per item
	$(BIN)/python -m bench.capacity.per_item --items 10
	$(BIN)/python -m bench.capacity.tables
