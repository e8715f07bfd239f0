package failover

import (
	"context"
	"net"
	"sync"
	"time"
)

// probe dials every address over TCP at once and reports which accepted a
// connection within timeout. A TCP connect is the health check because it
// needs no knowledge of the application: an endpoint whose process is gone
// or whose host is unreachable fails it, which is what failover is for;
// application-level health stays with readiness probes, which reach the
// router as the EndpointSlice's ready condition.
func probe(ctx context.Context, addrs []string, timeout time.Duration) map[string]bool {
	results := make(map[string]bool, len(addrs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	dialer := net.Dialer{Timeout: timeout}
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := dialer.DialContext(ctx, "tcp", addr)
			if err == nil {
				conn.Close()
			}
			mu.Lock()
			results[addr] = err == nil
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results
}
