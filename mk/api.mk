# REST API load run (bench/api): wrk at a constant rate against the local stack.
.PHONY: bench-api
bench-api: up ## p50/p99, req/s and API CPU per request of the status endpoints on a 100,000-item voyage
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(BIN)/pytest -q -p no:cacheprovider bench/api/test_paced.py  # the instrument holds its rate (timing: not in make test)
	$(BIN)/python -m bench.api.run $(BENCH_ARGS)
