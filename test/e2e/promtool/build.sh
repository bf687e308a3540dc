#!/usr/bin/env bash
# Builds promtool (Prometheus' rule checker and rule unit-test runner) from the
# Go module pinned in this directory, and caches it under
# ${NETPOL_GUARD_CACHE:-$HOME/.cache/netpol-guard}/promtool-<key>/promtool.
#
# The cache key is the sha256 of go.mod + go.sum + this script's recipe version
# + `go version`, so a dependency bump or a new toolchain rebuilds; it is a
# separate directory from the control-plane binaries (kube-<key>), so bumping
# one never rebuilds the other.
#
# Progress goes to stderr; the last line on stdout is the path of promtool.
# A cold build takes many minutes on 2 cores; a warm run only hashes a few files.
set -euo pipefail

# Bump when the build recipe (flags, tags) changes.
RECIPE_VERSION=1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${NETPOL_GUARD_CACHE:-${HOME}/.cache/netpol-guard}"

log() { printf '[promtool-build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# shellcheck source=../go-build-cache.sh
source "${here}/../go-build-cache.sh"
go_build_cache_find_go

go_version="$(go version)"
key="$(go_build_cache_key "${here}" "${RECIPE_VERSION}")"
bin_dir="${cache_root}/promtool-${key}"

complete() { [[ -x "${bin_dir}/promtool" ]]; }

if complete; then
  log "cached: ${bin_dir}"
  printf '%s\n' "${bin_dir}/promtool"
  exit 0
fi

mkdir -p "${cache_root}"
tmp_dir="$(mktemp -d "${cache_root}/.promtool-${key}.tmp.XXXXXX")"
heartbeat_pid=""
cleanup() {
  if [[ -n "${heartbeat_pid}" ]]; then kill "${heartbeat_pid}" 2>/dev/null || true; fi
  rm -rf "${tmp_dir}"
}
trap cleanup EXIT

cd "${here}"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN=local

module_version="$(go list -m -f '{{.Version}}' github.com/prometheus/prometheus)"
# Prometheus 3.x publishes its Go module as v0.3MM.P for release 3.MM.P.
if [[ ! "${module_version}" =~ ^v0\.3([0-9]{2})\.([0-9]+)$ ]]; then
  log "error: unexpected github.com/prometheus/prometheus version '${module_version}'"
  exit 1
fi
release="3.$((10#${BASH_REMATCH[1]})).${BASH_REMATCH[2]}"
build_date="$(date -u +%Y%m%d-%H:%M:%S)"

log "cold build of promtool ${release} (module ${module_version}) with ${go_version}"
log "target ${bin_dir} (go build -p ${PROMTOOL_BUILD_PARALLEL:-2})"

log "downloading modules"
go mod download

# The variables upstream's promu sets; the module carries no commit id.
ldflags=(
  -s -w
  "-X github.com/prometheus/common/version.Version=${release}"
  "-X github.com/prometheus/common/version.Revision=module-${module_version}"
  "-X github.com/prometheus/common/version.Branch=module"
  "-X github.com/prometheus/common/version.BuildUser=netpol-guard"
  "-X github.com/prometheus/common/version.BuildDate=${build_date}"
)

start=$(date +%s)
log "go build promtool ..."
go_build_cache_heartbeat "${start}" >&2 </dev/null &
heartbeat_pid=$!
# netgo as upstream's .promu.yml: a static resolver, no cgo.
go build -p "${PROMTOOL_BUILD_PARALLEL:-2}" -trimpath -tags netgo \
  -ldflags "${ldflags[*]}" \
  -o "${tmp_dir}/promtool" \
  github.com/prometheus/prometheus/cmd/promtool >&2
kill "${heartbeat_pid}" 2>/dev/null || true
heartbeat_pid=""
chmod 0755 "${tmp_dir}"
log "go build done in $(( $(date +%s) - start ))s"

[[ -x "${tmp_dir}/promtool" ]] || { log "error: promtool missing after build"; exit 1; }
"${tmp_dir}/promtool" --version >&2

cat >"${tmp_dir}/BUILDINFO" <<INFO
prometheus=${module_version}
release=${release}
go=${go_version}
built=${build_date}
recipe=${RECIPE_VERSION}
INFO

# Atomic publish: rename the finished directory into place (a concurrent build's stays).
go_build_cache_publish "${tmp_dir}" "${bin_dir}" complete
printf '%s\n' "${bin_dir}/promtool"
