// Package demo is CAFE's demo payment service: accounts and transfers over
// an HTTP/1.1 JSON API, stored in an etcd cluster shared by every replica in
// every unit. It exists to show a release that fails no request and loses
// or duplicates no money: every transfer is one etcd transaction guarded by
// its idempotency key, so a client's retry that lands on another replica,
// or another unit, is answered with the stored transfer instead of moving
// the money twice. See docs/demo-service.md.
package demo
