#!/bin/sh
# Slim a freshly installed venv in an image's build stage (the final stage copies only the venv):
# - drop pip and setuptools, which nothing runs at run time;
# - keep botocore's S3 and STS models only (STS for workload identities): ~30 MB of other services;
# - strip debug symbols from shared libraries (uvloop alone ships 13 MB of them), but not those
#   auditwheel rewrote with patchelf (its *.libs/ folders, and modules with an RPATH/RUNPATH):
#   strip breaks their layout ("ELF load command address/offset not page-aligned");
# - compile bytecode now, as the root filesystem is read-only at run time. The kubernetes client's
#   generated API and models (~17 MB of bytecode) are left to compile on first use: only the API
#   imports them, lazily, when it reads worker replicas in a cluster.
# Usage: slim-venv.sh VENV
set -eu
venv=$1
"$venv/bin/pip" uninstall -q -y pip setuptools
for data in "$venv"/lib/python3*/site-packages/botocore/data; do
  [ -d "$data" ] && find "$data" -mindepth 1 -maxdepth 1 -type d ! -name s3 ! -name sts -exec rm -rf {} +
done
find "$venv" -type f -name '*.so*' ! -path '*.libs/*' | while read -r lib; do
  readelf -d "$lib" 2>/dev/null | grep -q -E 'RPATH|RUNPATH' || strip --strip-unneeded "$lib"
done
"$venv/bin/python" -m compileall -q -j 0 -x '/kubernetes/client/' "$venv/lib"
