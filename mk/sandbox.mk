# The render sandbox (docs/engines.md, docs/security.md): its per-render cost.
.PHONY: bench-sandbox
bench-sandbox: install ## per-render wall and CPU of a small JPEG through the sandbox vs a direct call
	$(BIN)/python -m bench.sandbox.run $(BENCH_ARGS)
