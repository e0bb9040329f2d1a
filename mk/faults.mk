# Fault injection (docs/faults.md): the whole system on disposable servers, broken on purpose.
.PHONY: test-faults

test-faults: install ## fault-injection suite: crash workers, Redis, Postgres, S3, the API mid-batch; results table
	$(BIN)/pytest tests/faults -p no:cacheprovider --basetemp=var/faults $(PYTEST_ARGS)
