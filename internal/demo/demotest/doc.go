// Package demotest starts what integration tests of the demo service and
// the load generator need: a real etcd cluster from the repository's
// bin/etcd, and demo service replicas on it. Nothing here skips a test:
// what cannot start fails it.
package demotest
