//go:build integration

// Package router tests the unit router against a real API server: three
// routers, one per unit, with backends in network namespaces, ShardMaps and
// Routes from the API, and the leader-elected failover controller.
package router

import (
	"os"
	"testing"

	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	// TestRealRouterAndBackendProcesses runs this binary as its backends.
	if name := os.Getenv(backendEnv); name != "" {
		os.Exit(backendMain(name))
	}
	testenv.Main(m, testenv.Options{InstallCRDs: true}, &env)
}
