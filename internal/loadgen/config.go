package loadgen

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Spread says how requests are spread over the targets.
type Spread string

const (
	// RoundRobin sends each request to the next target.
	RoundRobin Spread = "round-robin"
	// ByUser sends each user's requests always to the same target, as a
	// user's app keeps talking to its nearest data center: the router then
	// forwards the requests of other units' shards.
	ByUser Spread = "by-user"
)

// Config of one load run.
type Config struct {
	// Targets are base URLs of routers (or of the service directly).
	Targets []string
	Spread  Spread
	// Rate is the steady request rate, per second, kept whatever the
	// answers' latency (open loop).
	Rate     float64
	Duration time.Duration
	// Shards the router's ShardMap has; Accounts (one per user, at least
	// Shards) are spread over all of them.
	Shards         int
	Accounts       int
	InitialBalance int64
	// TransferRatio is the share of transfers (0 < ratio <= 1; 0 picks the
	// default); the rest reads an account.
	TransferRatio float64
	// MaxAmount bounds each transfer's random amount (1..MaxAmount).
	MaxAmount int64
	// Timeout of each request: no answer by then is a failure.
	Timeout time.Duration
	// RunID prefixes this run's transfer IDs (default: random), so runs
	// never collide and a ledger check can find them.
	RunID string
	// Seed makes the request sequence reproducible (0: random).
	Seed uint64
	// Progress, if set, is called every ProgressInterval during the run.
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// Defaults.
const (
	DefaultRate             = 200
	DefaultShards           = 100
	DefaultAccounts         = 200
	DefaultInitialBalance   = 1_000_000
	DefaultTransferRatio    = 0.4
	DefaultMaxAmount        = 100
	DefaultTimeout          = 5 * time.Second
	DefaultProgressInterval = time.Second
)

// WithDefaults fills every zero setting that has a default.
func (c Config) WithDefaults() Config {
	if c.Spread == "" {
		c.Spread = RoundRobin
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Shards == 0 {
		c.Shards = DefaultShards
	}
	if c.Accounts == 0 {
		c.Accounts = max(DefaultAccounts, c.Shards)
	}
	if c.InitialBalance == 0 {
		c.InitialBalance = DefaultInitialBalance
	}
	if c.TransferRatio == 0 {
		c.TransferRatio = DefaultTransferRatio
	}
	if c.MaxAmount == 0 {
		c.MaxAmount = DefaultMaxAmount
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	return c
}

// Validate checks a configuration after WithDefaults.
func (c Config) Validate() error {
	if len(c.Targets) == 0 {
		return errors.New("no target: give at least one router base URL, e.g. http://127.0.0.1:8080")
	}
	for _, t := range c.Targets {
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("target %q is not a base URL such as http://127.0.0.1:8080", t)
		}
	}
	switch {
	case c.Spread != RoundRobin && c.Spread != ByUser:
		return fmt.Errorf("spread %q: use %s or %s", c.Spread, RoundRobin, ByUser)
	case c.Rate <= 0:
		return fmt.Errorf("rate %v: must be positive", c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("duration %v: must be positive", c.Duration)
	case c.Shards < 1:
		return fmt.Errorf("shards %d: must be at least 1", c.Shards)
	case c.Accounts < c.Shards:
		return fmt.Errorf("accounts %d is below shards %d: some shards would get no user; open at least one account per shard", c.Accounts, c.Shards)
	case c.Accounts < 2:
		return errors.New("accounts: at least 2 are needed to transfer between them")
	case c.TransferRatio <= 0 || c.TransferRatio > 1:
		return fmt.Errorf("transfer ratio %v is outside (0, 1]", c.TransferRatio)
	case c.MaxAmount < 1 || c.InitialBalance < 0:
		return errors.New("max amount must be at least 1 and the initial balance not negative")
	case c.Timeout <= 0:
		return fmt.Errorf("timeout %v: must be positive", c.Timeout)
	}
	return nil
}
