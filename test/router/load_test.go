//go:build integration

package router

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// getLoop sends idempotent GETs for some shards to each of some routers,
// back to back (5 ms apart per router), until stopped, and counts the
// answers that are not 200: the client side of every failover test.
type getLoop struct {
	sent, failed atomic.Int64
	first        atomic.Value // the first failure, "router <unit>: <status> <body>"
	stop         func()       // stops the loop and waits for it; safe to call twice
}

func startGetLoop(routers []string, shards []int, get func(router string, shard int) (status int, body string)) *getLoop {
	l := &getLoop{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, from := range routers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				status, body := get(from, shards[i%len(shards)])
				l.sent.Add(1)
				if status != http.StatusOK {
					l.failed.Add(1)
					l.first.CompareAndSwap(nil, fmt.Sprintf("router %s: %d %s", from, status, body))
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	l.stop = sync.OnceFunc(func() { close(done); wg.Wait() })
	return l
}
