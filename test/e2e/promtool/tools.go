//go:build tools

// Package tools pins promtool so that `go mod tidy` keeps its full dependency
// graph in go.mod/go.sum. Built by build.sh; the binary is cached outside the repo.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
