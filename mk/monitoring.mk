# Monitoring: Prometheus rules, Grafana dashboard, metrics and Flower auth (docs/monitoring.md).
.PHONY: test-monitoring test-rules prometheus

PROMETHEUS_PORT ?= 9090

test-monitoring: install ## metrics unit tests, promtool rule tests, Flower auth and the real-Prometheus proof
	$(BIN)/pytest tests/unit/test_metrics_*.py tests/monitoring

test-rules: ## promtool: check the alert rules and run their unit tests (needs the prometheus package)
	promtool check rules monitoring/prometheus/rules.yml
	promtool test rules monitoring/prometheus/tests.yml

prometheus: ## run Prometheus (foreground, port PROMETHEUS_PORT) scraping the stack of `make up`, with the rules
	@mkdir -p var/run var/prometheus
	@umask 077; grep '^FLOWER_PASSWORD=' .env | cut -d= -f2- | tr -d '\n' > var/run/flower-password
	prometheus --config.file=monitoring/prometheus/prometheus.yml --storage.tsdb.path=var/prometheus \
	  --web.listen-address=127.0.0.1:$(PROMETHEUS_PORT)
