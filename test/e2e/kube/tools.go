//go:build tools

// Package tools pins the main packages built by build.sh so that `go mod tidy`
// keeps their full dependency graphs in go.mod/go.sum.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
