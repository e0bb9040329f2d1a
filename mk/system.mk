# End-to-end system bench (docs/capacity.md, "System overhead"): every media kind through a local
# stack of its own (free ports; Redis is REDIS_URL's server, db 10), against the bare render.
.PHONY: bench-system
bench-system: bench-deps ## a batch of each kind through API, workers, S3, Redis, Postgres: CPU per process vs the bare render, items/s, p50/p95 (BENCH_ARGS="--photos 48 --profile")
	$(BIN)/python -m bench.system.run $(BENCH_ARGS)

.PHONY: bench-ingest
bench-ingest: bench-deps ## the API alone: CPU per uploaded 12 MP photo, against the API of another tree in the same run (BENCH_ARGS="--baseline DIR --rounds 6")
	$(BIN)/python -m bench.system.ingest $(BENCH_ARGS)

.PHONY: bench-s3
bench-s3: install ## client CPU per S3 call of the hot path (original's GET, derivative's and original's PUT): boto3 against Storage's own path, same run (BENCH_ARGS="--calls 200 --rounds 4")
	$(BIN)/python -m bench.s3.run $(BENCH_ARGS)
