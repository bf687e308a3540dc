#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries used by the e2e tests
# (kube-apiserver, kubectl, etcd) from the Go modules pinned in this directory,
# and caches them under ${NETPOL_GUARD_CACHE:-$HOME/.cache/netpol-guard}/kube-<key>/.
#
# The cache key is the sha256 of go.mod + go.sum + this script's recipe version
# + `go version`, so a dependency bump or a new toolchain rebuilds.
#
# Progress goes to stderr; the last line on stdout is the bin directory.
# A cold build takes a long time on 2 cores (tens of minutes); a warm run
# only hashes a few files.
set -euo pipefail

# Bump when the build recipe (flags, tags, binary set) changes.
RECIPE_VERSION=1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${NETPOL_GUARD_CACHE:-${HOME}/.cache/netpol-guard}"

log() { printf '[kube-build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# shellcheck source=../go-build-cache.sh
source "${here}/../go-build-cache.sh"
go_build_cache_find_go

go_version="$(go version)"
key="$(go_build_cache_key "${here}" "${RECIPE_VERSION}")"
bin_dir="${cache_root}/kube-${key}"
binaries=(kube-apiserver kubectl etcd)

complete() {
  local b
  for b in "${binaries[@]}"; do
    [[ -x "${bin_dir}/${b}" ]] || return 1
  done
  return 0
}

if complete; then
  log "cached: ${bin_dir}"
  printf '%s\n' "${bin_dir}"
  exit 0
fi

mkdir -p "${cache_root}"
tmp_dir="$(mktemp -d "${cache_root}/.kube-${key}.tmp.XXXXXX")"
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

k8s_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
etcd_version="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
if [[ ! "${k8s_version}" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
  log "error: unexpected k8s.io/kubernetes version '${k8s_version}'"
  exit 1
fi
git_major="${BASH_REMATCH[1]}"
git_minor="${BASH_REMATCH[2]}"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

log "cold build of kube-apiserver/kubectl ${k8s_version} + etcd ${etcd_version} with ${go_version}"
log "target ${bin_dir} (this takes a long time on few cores; go build -p ${KUBE_BUILD_PARALLEL:-2})"

log "downloading modules"
go mod download

ldflags=(-s -w)
# The upstream Makefile sets the same variables (hack/lib/version.sh); the
# published module carries no commit id, so gitCommit stays empty.
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=(
    "-X ${pkg}.gitVersion=${k8s_version}"
    "-X ${pkg}.gitMajor=${git_major}"
    "-X ${pkg}.gitMinor=${git_minor}"
    "-X ${pkg}.gitCommit="
    "-X ${pkg}.gitTreeState=clean"
    "-X ${pkg}.buildDate=${build_date}"
  )
done
ldflags+=("-X go.etcd.io/etcd/api/v3/version.GitSHA=module-${etcd_version}")

# Tags as in upstream hack/lib/golang.sh (notest drops test-only code paths,
# grpcnotrace drops golang.org/x/net/trace from grpc).
tags="selinux,notest,grpcnotrace"

start=$(date +%s)
log "go build (kube-apiserver, kubectl, etcd) ..."
# Heartbeat so callers see the cold build is alive (set KUBE_BUILD_VERBOSE=1
# for go build -v package lines instead).
go_build_cache_heartbeat "${start}" >&2 </dev/null &
heartbeat_pid=$!
verbose=()
if [[ "${KUBE_BUILD_VERBOSE:-0}" == "1" ]]; then verbose=(-v); fi
# One invocation so the scheduler can overlap the three link graphs.
go build "${verbose[@]}" -p "${KUBE_BUILD_PARALLEL:-2}" -trimpath -tags "${tags}" \
  -ldflags "${ldflags[*]}" \
  -o "${tmp_dir}/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kubectl \
  go.etcd.io/etcd/server/v3 >&2
# `go build` names the etcd main after the last non-/vN path element.
mv "${tmp_dir}/server" "${tmp_dir}/etcd"
kill "${heartbeat_pid}" 2>/dev/null || true
heartbeat_pid=""
chmod 0755 "${tmp_dir}"
log "go build done in $(( $(date +%s) - start ))s"

for b in "${binaries[@]}"; do
  [[ -x "${tmp_dir}/${b}" ]] || { log "error: ${b} missing after build"; exit 1; }
done
"${tmp_dir}/kubectl" version --client >&2 || true
"${tmp_dir}/etcd" --version >&2 || true

cat >"${tmp_dir}/BUILDINFO" <<EOF
kubernetes=${k8s_version}
etcd=${etcd_version}
go=${go_version}
built=${build_date}
recipe=${RECIPE_VERSION}
EOF

# Atomic publish: rename the finished directory into place (a concurrent build's stays).
go_build_cache_publish "${tmp_dir}" "${bin_dir}" complete
printf '%s\n' "${bin_dir}"
