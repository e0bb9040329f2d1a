# The chart's rendered output run as a cluster runs it, on Podman (docs/kubernetes.md, "Verified here").
.PHONY: test-chart-runtime

# podman-compose names services through CNI's dnsname plugin (golang-github-containernetworking-plugin-dnsname).
RUNTIME_APT := podman runc debootstrap ffmpeg podman-compose golang-github-containernetworking-plugin-dnsname

test-chart-runtime: install helm ## run `helm template` output on podman for the default, seaweedfs and external-services values (slow)
	@missing=$$(for p in $(RUNTIME_APT); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done | xargs); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@start=$$(date +%s); \
	SEQUOIA_CHART_RUNTIME_TESTS=1 PATH="$(CURDIR)/bin:$$PATH" $(BIN)/pytest -p no:cacheprovider tests/chart_runtime -s; \
	status=$$?; echo "test-chart-runtime: $$(( $$(date +%s) - start )) s"; exit $$status
