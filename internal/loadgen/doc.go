// Package loadgen is the load generator of the financial-grade release
// demo: a steady open-loop stream of account reads and transfers through
// CAFE's routers to the demo payment service (internal/demo), covering
// every shard, with no client retries. It records every failure with its
// cause, latency per unit and which version answered over time, and checks
// the ledger at the end: no money created or lost, every acknowledged
// transfer stored exactly once. cmd/cafe-load is its command.
package loadgen
