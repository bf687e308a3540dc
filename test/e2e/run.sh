#!/usr/bin/env bash
# End-to-end suite: builds (or reuses) the pinned control-plane binaries,
# compiles the TypeScript, and runs every compiled test under build/test/e2e/.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${repo}"

echo "[e2e] building control-plane binaries (cold build: many minutes)" >&2
bin_dir="$(bash test/e2e/kube/build.sh | tail -n 1)"
export NETPOL_GUARD_KUBE_BIN="${bin_dir}"
echo "[e2e] binaries: ${NETPOL_GUARD_KUBE_BIN}" >&2

echo "[e2e] building promtool (cold build: many minutes)" >&2
NETPOL_GUARD_PROMTOOL="$(bash test/e2e/promtool/build.sh | tail -n 1)"
export NETPOL_GUARD_PROMTOOL
echo "[e2e] promtool: ${NETPOL_GUARD_PROMTOOL}" >&2

echo "[e2e] compiling TypeScript (the CLI under test, then the tests)" >&2
npx tsc -p tsconfig.build.json
npx tsc -p tsconfig.json

echo "[e2e] running tests" >&2
exec node --test --test-concurrency=1 build/test/e2e/ "$@"
