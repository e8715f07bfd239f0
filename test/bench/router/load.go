package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// request is the one request every run sends: a small GET with a shard
// key, over HTTP/1.1 keep-alive.
const request = "GET /accounts/balance HTTP/1.1\r\nHost: bank.example\r\nX-Cafe-Uid: U1001\r\n\r\n"

// loadConn is one keep-alive connection that sends request and reads the
// response; plain bytes on the wire keep the load generator's own cost low.
type loadConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dial(addr string) (*loadConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &loadConn{conn: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

func (c *loadConn) do() error {
	if _, err := io.WriteString(c.conn, request); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (c *loadConn) close() { c.conn.Close() }

// result is one measured window.
type result struct {
	requests  int64
	errors    int64
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

// closedLoop keeps conns connections busy for warmup+measure and measures
// the last part. onWindow is called at the window's start and end (to read
// CPU counters).
func closedLoop(addr string, conns int, warmup, measure time.Duration, onWindow func(start bool)) (result, error) {
	return runLoad(addr, conns, warmup, measure, onWindow, nil)
}

// openLoop sends rate requests per second spread over conns connections,
// each on its own schedule, and measures each request from when it was
// written until its response was read. (Measuring from when a request was
// due would charge the servers for the load generator's own scheduling
// delays on a busy machine.)
func openLoop(addr string, conns int, rate float64, warmup, measure time.Duration) (result, error) {
	interval := time.Duration(float64(conns) / rate * float64(time.Second))
	return runLoad(addr, conns, warmup, measure, nil, &interval)
}

func runLoad(addr string, conns int, warmup, measure time.Duration, onWindow func(start bool), interval *time.Duration) (result, error) {
	clients := make([]*loadConn, conns)
	for i := range clients {
		c, err := dial(addr)
		if err != nil {
			return result{}, err
		}
		defer c.close()
		clients[i] = c
	}
	begin := time.Now()
	windowStart, windowEnd := begin.Add(warmup), begin.Add(warmup+measure)
	var measuring atomic.Bool
	var requests, errors atomic.Int64
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := begin
			if interval != nil {
				// Stagger connections across one interval.
				next = begin.Add(*interval * time.Duration(i) / time.Duration(conns))
			}
			for {
				if interval != nil {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
				} else {
					next = time.Now()
				}
				if next.After(windowEnd) {
					return
				}
				sent := time.Now()
				err := c.do()
				done := time.Now()
				if measuring.Load() && !next.Before(windowStart) {
					requests.Add(1)
					if err != nil {
						errors.Add(1)
					}
					lat[i] = append(lat[i], done.Sub(sent))
				}
				if err != nil {
					return
				}
				if interval != nil {
					next = next.Add(*interval)
				}
			}
		}()
	}
	time.Sleep(time.Until(windowStart))
	if onWindow != nil {
		onWindow(true)
	}
	measuring.Store(true)
	time.Sleep(time.Until(windowEnd))
	if onWindow != nil {
		onWindow(false)
	}
	wg.Wait()
	r := result{requests: requests.Load(), errors: errors.Load(), elapsed: measure}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	if r.errors > 0 {
		return r, fmt.Errorf("%d of %d requests to %s failed", r.errors, r.requests, addr)
	}
	return r, nil
}
