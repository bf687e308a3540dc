# Sourced by kube/build.sh and promtool/build.sh: the parts of "build Go binaries from the module
# pinned in a directory, and cache them by that module" that both share. The caller defines log()
# and calls these with its own names; each script keeps its binary list and build command.

# Puts /usr/local/go/bin on PATH when go is not found, or fails.
go_build_cache_find_go() {
  if ! command -v go >/dev/null 2>&1; then
    if [[ -x /usr/local/go/bin/go ]]; then
      export PATH="/usr/local/go/bin:${PATH}"
    else
      log "error: go toolchain not found on PATH"
      return 1
    fi
  fi
}

# go_build_cache_key MODULE_DIR RECIPE_VERSION: the first 16 hex digits of the sha256 of the
# recipe version, `go version` and the module's go.mod and go.sum, so a dependency bump, a new
# toolchain or a new recipe rebuilds.
go_build_cache_key() {
  {
    printf 'recipe=%s\n' "$2"
    printf 'go=%s\n' "$(go version)"
    sha256sum "$1/go.mod" "$1/go.sum" | awk '{print $1}'
  } | sha256sum | cut -c1-16
}

# go_build_cache_heartbeat START_EPOCH: logs "still compiling" every 30 s until killed, so
# callers see a cold build is alive. Run it in the background and kill it when done.
go_build_cache_heartbeat() {
  local start="$1" s=""
  trap '[[ -n "${s}" ]] && kill "${s}" 2>/dev/null; exit 0' TERM
  while :; do
    sleep 30 &
    s=$!
    wait "${s}"
    log "still compiling ($(( $(date +%s) - start ))s elapsed)"
  done
}

# go_build_cache_publish TMP_DIR BIN_DIR COMPLETE_FN: renames the finished TMP_DIR to BIN_DIR
# atomically; an incomplete BIN_DIR is replaced, a complete one published by a concurrent build
# is kept. COMPLETE_FN (a function name) tells whether BIN_DIR holds every binary.
go_build_cache_publish() {
  local tmp="$1" bin="$2" complete_fn="$3"
  if [[ -e "${bin}" ]] && ! "${complete_fn}"; then
    log "removing incomplete ${bin}"
    rm -rf "${bin}"
  fi
  if ! mv -T "${tmp}" "${bin}" 2>/dev/null; then
    if "${complete_fn}"; then
      log "another build already published ${bin}"
    else
      log "error: could not publish ${bin}"
      return 1
    fi
  fi
  log "published ${bin}"
}
