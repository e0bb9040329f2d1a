# The chart's rendered output run as a cluster runs it, on Podman (docs/kubernetes.md, "Verified here").
# Its Debian packages (podman, runc, debootstrap, podman-compose, CNI's dnsname plugin) are in .ci/apt-packages.
.PHONY: test-chart-runtime

test-chart-runtime: system-packages install helm ## run `helm template` output on podman for the default, seaweedfs and external-services values (slow)
	PATH="$(CURDIR)/bin:$$PATH" $(BIN)/pytest -p no:cacheprovider tests/chart_runtime -s
