#!/usr/bin/env bash
# Runs test_client.js against a fresh 3-node cluster, installing the npm
# packages (package-lock.json, `npm ci`) into INSTALL_DIR first if needed.
#
#   run_test.sh SLUICE_WITH_CLUSTER [INSTALL_DIR [FLAG...]]
#
# FLAGs go to sluice-with-cluster (--secure: TLS and authentication).
# INSTALL_DIR (default: this folder) gets its own node_modules; the test finds
# it through NODE_PATH. The install is redone only when package-lock.json
# changes, under a lock, so parallel runs share one install. No registry, no
# packages: the test fails (it does not skip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runner=${1:?usage: run_test.sh SLUICE_WITH_CLUSTER [INSTALL_DIR [FLAG...]]}
install=${2:-$here}
shift $(($# < 2 ? $# : 2))  # leaves the FLAGs in "$@"
node=${NODE:-node}
command -v "$node" >/dev/null && command -v npm >/dev/null || {
  echo "run_test.sh: node and npm are needed (scripts/setup installs them)" >&2
  exit 1
}
mkdir -p "$install"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
stamp="$install/node_modules/.sluice-package-lock.sha256"
(
  flock 9
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    if [[ $install != "$here" ]]; then
      cp "$here/package.json" "$here/package-lock.json" "$install/"
    fi
    echo "run_test.sh: npm ci in $install" >&2
    if ! (cd "$install" && npm ci --no-audit --no-fund --fetch-retries=2 \
            --fetch-timeout=60000 >&2); then
      echo "run_test.sh: npm ci failed: cannot install @grpc/grpc-js and" \
           "@grpc/proto-loader (is the npm registry reachable?)" >&2
      exit 1
    fi
    echo "$want" > "$stamp"
  fi
) 9>"$install/.npm-ci.lock"
export NODE_PATH="$install/node_modules${NODE_PATH:+:$NODE_PATH}"
exec "$runner" "$@" -- "$node" "$here/test_client.js"
