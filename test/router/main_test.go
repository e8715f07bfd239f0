//go:build integration

// Package router tests the unit router against a real API server: three
// routers, one per unit, with backends in network namespaces, ShardMaps and
// Routes from the API, and the leader-elected failover controller.
package router

import (
	"testing"

	"github.com/cafe-dev/cafe/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{InstallCRDs: true}, &env)
}
