#!/usr/bin/env bash
# One lock for CI, `make install` and the images: uv.lock (from pyproject.toml's workspace), exported
# into the hash-pinned requirement files pip installs with --require-hashes. The workspace's own
# packages are not in them (a local directory has no hash): they are installed after, with --no-deps.
#   scripts/lock.sh          re-resolve uv.lock and rewrite requirements/
#   scripts/lock.sh --check  fail when uv.lock or requirements/ no longer match pyproject.toml (offline)
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
export SSL_CERT_FILE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}  # a TLS-intercepting proxy's CA
# file: uv export arguments (the image or use it serves)
views=(
  "all.txt:--all-packages --group dev"
  "api.txt:--package sequoia-api --no-dev"
  "client.txt:--package sequoia-client --no-dev"
  "worker-thumbnails.txt:--package sequoia-thumbnails --extra vips-binary --no-dev"
  "worker-media.txt:--package sequoia-media --no-dev"
  "flower.txt:--package sequoia-media --extra flower --no-dev"
)
if [ "${1:-}" = --check ]; then "$uv" lock --check --offline; else "$uv" lock; fi
status=0
for view in "${views[@]}"; do
  file=requirements/${view%%:*}
  # shellcheck disable=SC2086 (the arguments are words)
  exported=$("$uv" export --frozen --offline --no-emit-workspace --format requirements-txt --quiet ${view#*:})
  if [ "${1:-}" = --check ]; then
    diff -q <(echo "$exported") "$file" >/dev/null || { echo "$file is stale: run scripts/lock.sh" >&2; status=1; }
  else
    echo "$exported" > "$file"
  fi
done
exit $status
