# The render sandbox (docs/engines.md, docs/security.md): its per-render cost.
.PHONY: bench-sandbox
bench-sandbox: install ## per-render wall and CPU of a small JPEG through the sandbox vs a direct call
	$(BIN)/python -m bench.sandbox.run $(BENCH_ARGS)

.PHONY: test-sandbox
test-sandbox: install ## the sandbox's tests: unit (no services), then a real worker, SeaweedFS and Postgres
	$(BIN)/pytest tests/unit/test_render_sandbox.py tests/unit/test_render_answer.py tests/unit/test_process_hooks.py \
	  tests/integration/test_sandbox_worker.py tests/integration/test_orphan_originals.py
