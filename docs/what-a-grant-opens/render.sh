#!/usr/bin/env bash
# Regenerates the README's "What a grant opens" example in this directory: the explain outputs and
# grant.dot come from the built CLI against a real kube-apiserver (test/e2e/docsExample.ts; needs
# the e2e control-plane binaries, e.g. NETPOL_GUARD_KUBE_BIN), grant.svg from grant.dot with
# Graphviz. `render.sh --svg-only` only re-renders grant.svg.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ "${1:-}" != "--svg-only" ]]; then
  (cd "$root" && npm run build --silent && npx tsc -p tsconfig.json)
  node "$root/build/test/e2e/docsExample.js" "$here"
fi
command -v dot >/dev/null || { echo "render.sh: Graphviz 'dot' is not installed (apt-get install graphviz)" >&2; exit 1; }
dot -Tsvg "$here/grant.dot" -o "$here/grant.svg"
echo "wrote $here/{debug-orders-db.yaml,explain-isolates.txt,explain.txt,grant.dot,grant.svg}"
