# REST API: load run of the status endpoints against the local stack.
.PHONY: bench-api
bench-api: up ## load run: p50/p99 and req/s of the status endpoints on a 100,000-item voyage
	$(BIN)/python -m bench.api.run
