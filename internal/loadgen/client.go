package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cafe-dev/cafe/internal/demo"
)

// Headers read from answers and set on requests.
const (
	// HeaderUID carries the user ID, from which the router takes the shard.
	HeaderUID = "X-Cafe-Uid"
	// HeaderRouterUnit is set by the router: the unit that served.
	HeaderRouterUnit = "X-Cafe-Unit"
)

// bodyExcerpt is how much of a failed answer's body a Failure keeps.
const bodyExcerpt = 200

// client sends the stream's requests, each once: no retries, so every
// failure the service or the routers cause shows.
type client struct {
	http    *http.Client
	targets []string
	spread  Spread
	next    atomic.Uint64
}

func newClient(cfg Config) *client {
	transport := &http.Transport{
		Proxy:               nil, // loopback and routers: never through a proxy
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &client{http: &http.Client{Transport: transport}, targets: cfg.Targets, spread: cfg.Spread}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// target is where user's request goes.
func (c *client) target(user int) string {
	if c.spread == ByUser {
		return c.targets[user%len(c.targets)]
	}
	return c.targets[(c.next.Add(1)-1)%uint64(len(c.targets))]
}

// answer is an HTTP answer read whole.
type answer struct {
	status  int
	unit    string
	version string
	body    []byte
}

// send does one request within ctx, reading the whole answer.
func (c *client) send(ctx context.Context, method, url, uid string, body any, header map[string]string) (answer, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return answer{}, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return answer{}, err
	}
	// net/http resends a request that failed on a reused connection if it
	// looks replayable (a GET, or a POST with Idempotency-Key, whose body it
	// can rewind). A body it cannot rewind keeps it from doing so: a reset
	// must show as a failure, not be hidden by a retry.
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.ContentLength = int64(len(data))
	req.Header.Set(HeaderUID, uid)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, unit: resp.Header.Get(HeaderRouterUnit), version: resp.Header.Get(demo.HeaderVersion)}
	if a.unit == "" {
		a.unit = resp.Header.Get(demo.HeaderUnit)
	}
	a.body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return a, err
}

// excerpt is the start of a body, on one line.
func excerpt(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > bodyExcerpt {
		s = s[:bodyExcerpt] + "…"
	}
	return s
}

// openAccounts opens the run's accounts and returns each one's balance
// before the load: the opening balance, or the current one for an account
// a previous run opened.
func (c *client) openAccounts(ctx context.Context, cfg Config) (map[string]int64, error) {
	var mu sync.Mutex
	balances := make(map[string]int64, cfg.Accounts)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range cfg.Accounts {
		g.Go(func() error {
			id := UserID(i, cfg.Shards)
			acct, err := c.openAccount(ctx, c.target(i), id, cfg.InitialBalance, cfg.Timeout)
			if err != nil {
				return err
			}
			mu.Lock()
			balances[id] = acct.Balance
			mu.Unlock()
			return nil
		})
	}
	return balances, g.Wait()
}

func (c *client) openAccount(ctx context.Context, target, id string, balance int64, timeout time.Duration) (demo.Account, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a, err := c.send(ctx, http.MethodPut, target+"/accounts/"+id, id, map[string]int64{"balance": balance}, nil)
	if err != nil {
		return demo.Account{}, fmt.Errorf("open account %s through %s: %w", id, target, err)
	}
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		return demo.Account{}, fmt.Errorf("open account %s through %s: status %d: %s", id, target, a.status, excerpt(a.body))
	}
	var acct demo.Account
	if err := json.Unmarshal(a.body, &acct); err != nil {
		return demo.Account{}, fmt.Errorf("open account %s through %s: answer is not an account: %w", id, target, err)
	}
	return acct, nil
}
