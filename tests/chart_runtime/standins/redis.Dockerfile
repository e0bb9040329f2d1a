# Stand-in for docker.io/library/redis (not pullable here): Debian's redis-server and redis-cli.
ARG BASE_IMAGE=localhost/sequoia-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["redis-server"]
