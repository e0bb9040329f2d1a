# Fault injection (docs/faults.md): the whole system on disposable servers, broken on purpose.
.PHONY: test-faults test-faults-ci

test-faults: install ## every fault scenario: crash workers, Redis, Postgres, S3, the API mid-batch; results table
	@mkdir -p var
	$(BIN)/pytest tests/faults -p no:cacheprovider --basetemp=var/faults $(PYTEST_ARGS)

test-faults-ci: install ## CI's share of the fault scenarios (those not marked faults_full), production defaults
	@mkdir -p var
	$(BIN)/pytest tests/faults -m "not faults_full" -p no:cacheprovider --basetemp=var/faults $(PYTEST_ARGS)
