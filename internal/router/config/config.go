// Package config loads a standalone router configuration from a YAML file,
// for routers on VMs without Kubernetes: shard maps, routes and each unit's
// static endpoints. It validates with the same shard.Compile the cluster
// controller uses, and a reload that fails keeps the running configuration.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/cafe-dev/cafe/internal/router/proxy"
	"github.com/cafe-dev/cafe/internal/router/shard"
)

// File is the YAML document. Field names follow the Kubernetes API.
type File struct {
	ShardMaps []ShardMap `json:"shardMaps"`
	Routes    []Route    `json:"routes"`
}

// ShardMap is a shard map with the epoch the file's author assigns; raise
// it with every change so routers can tell the newer map.
type ShardMap struct {
	Name         string      `json:"name"`
	Epoch        int64       `json:"epoch"`
	Shards       int         `json:"shards"`
	Key          Key         `json:"key"`
	OnMissingKey *MissingKey `json:"onMissingKey,omitempty"`
	Units        []Unit      `json:"units"`
}

// Key mirrors ShardMap spec.key.
type Key struct {
	Source      string  `json:"source,omitempty"`
	Name        string  `json:"name,omitempty"`
	PathSegment int     `json:"pathSegment,omitempty"`
	Digits      *Digits `json:"digits,omitempty"`
	Hash        bool    `json:"hash,omitempty"`
}

// Digits mirrors spec.key.digits.
type Digits struct {
	Offset int `json:"offset,omitempty"`
	Count  int `json:"count"`
}

// MissingKey mirrors spec.onMissingKey.
type MissingKey struct {
	Action string `json:"action,omitempty"`
	Unit   string `json:"unit,omitempty"`
}

// Unit mirrors spec.units[].
type Unit struct {
	Name          string  `json:"name"`
	Ranges        []Range `json:"ranges,omitempty"`
	State         string  `json:"state,omitempty"`
	FailoverTo    string  `json:"failoverTo,omitempty"`
	RouterAddress string  `json:"routerAddress,omitempty"`
}

// Range is an inclusive shard range.
type Range struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Route is a route plus its static endpoints, host:port lists by unit.
type Route struct {
	Name       string              `json:"name"`
	Host       string              `json:"host"`
	PathPrefix string              `json:"pathPrefix,omitempty"`
	ShardMap   string              `json:"shardMap"`
	Timeouts   Timeouts            `json:"timeouts,omitempty"`
	Retries    Retries             `json:"retries,omitempty"`
	Endpoints  map[string][]string `json:"endpoints"`
}

// Timeouts are Go durations such as "30s".
type Timeouts struct {
	Request        Duration `json:"request,omitempty"`
	ResponseHeader Duration `json:"responseHeader,omitempty"`
}

// Retries mirrors Route spec.retries.
type Retries struct {
	Attempts int `json:"attempts,omitempty"`
}

// Duration reads a Go duration string.
type Duration time.Duration

// UnmarshalJSON parses "1.5s"-style durations.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Config is a validated configuration, ready to apply.
type Config struct {
	// Tables are the compiled shard maps by name.
	Tables map[string]*shard.Table
	Routes []proxy.Route
	// Endpoints lists host:port addresses by route, then by unit.
	Endpoints map[string]map[string][]string
}

// Parse reads and validates a configuration document. Every problem names
// where it is, such as "shardMaps[0] users: ..." or "routes[1] cards: ...".
func Parse(data []byte) (*Config, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	var problems []string
	cfg := &Config{Tables: map[string]*shard.Table{}, Endpoints: map[string]map[string][]string{}}
	for i, m := range f.ShardMaps {
		where := fmt.Sprintf("shardMaps[%d] %s", i, m.Name)
		if m.Name == "" {
			problems = append(problems, where+": name is required")
			continue
		}
		if _, dup := cfg.Tables[m.Name]; dup {
			problems = append(problems, where+": name is used twice")
			continue
		}
		table, err := shard.Compile(m.spec())
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		cfg.Tables[m.Name] = table
	}
	for i, r := range f.Routes {
		where := fmt.Sprintf("routes[%d] %s", i, r.Name)
		cfg.Routes = append(cfg.Routes, proxy.Route{
			Name: r.Name, Host: r.Host, PathPrefix: r.PathPrefix, ShardMap: r.ShardMap,
			Timeouts: proxy.Timeouts{Request: time.Duration(r.Timeouts.Request), ResponseHeader: time.Duration(r.Timeouts.ResponseHeader)},
			Retries:  proxy.RetryPolicy{Attempts: r.Retries.Attempts},
		})
		cfg.Endpoints[r.Name] = r.Endpoints
		table, ok := cfg.Tables[r.ShardMap]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: shard map %q is not defined or invalid", where, r.ShardMap))
			continue
		}
		for _, unit := range sortedKeys(r.Endpoints) {
			if _, ok := table.Unit(unit); !ok {
				problems = append(problems, fmt.Sprintf("%s: endpoints name unit %q, which shard map %q does not list", where, unit, r.ShardMap))
			}
		}
	}
	if err := proxy.ValidateRoutes(cfg.Routes); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return cfg, nil
}

func (m ShardMap) spec() shard.MapSpec {
	spec := shard.MapSpec{
		Epoch:  m.Epoch,
		Shards: m.Shards,
		Key: shard.KeySpec{
			Source: shard.KeySource(m.Key.Source), Name: m.Key.Name,
			PathSegment: m.Key.PathSegment, Hash: m.Key.Hash,
		},
	}
	if spec.Key.Source == "" {
		spec.Key.Source = shard.KeyFromHeader
	}
	if m.Key.Digits != nil {
		spec.Key.Digits = &shard.Digits{Offset: m.Key.Digits.Offset, Count: m.Key.Digits.Count}
	}
	if m.OnMissingKey != nil {
		spec.OnMissingKey = shard.MissingKeyPolicy{Action: shard.MissingKeyAction(m.OnMissingKey.Action), Unit: m.OnMissingKey.Unit}
	}
	for _, u := range m.Units {
		unit := shard.UnitSpec{Name: u.Name, State: shard.UnitState(u.State), FailoverTo: u.FailoverTo, RouterAddress: u.RouterAddress}
		for _, r := range u.Ranges {
			unit.Ranges = append(unit.Ranges, shard.Range{From: r.From, To: r.To})
		}
		spec.Units = append(spec.Units, unit)
	}
	return spec
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Load reads and parses a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// CheckUnit reports a configuration in which unit is missing from a shard
// map that a route uses: such a router would forward everything.
func (c *Config) CheckUnit(unit string) error {
	for _, r := range c.Routes {
		if _, ok := c.Tables[r.ShardMap].Unit(unit); !ok {
			return fmt.Errorf("unit %q is not listed in shard map %q used by route %q", unit, r.ShardMap, r.Name)
		}
	}
	return nil
}

// Reloader applies a configuration file to a handler and reapplies it on
// Reload. A file that fails to load or validate changes nothing.
type Reloader struct {
	path    string
	unit    string
	handler *proxy.Handler

	mu      sync.Mutex
	current *Config
}

// NewReloader loads path and applies it to h as unit's router.
func NewReloader(path, unit string, h *proxy.Handler) (*Reloader, error) {
	r := &Reloader{path: path, unit: unit, handler: h}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Current returns the configuration in force.
func (r *Reloader) Current() *Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// Reload loads the file again. On any error the handler keeps the previous
// configuration and the error says which file and what is wrong.
func (r *Reloader) Reload() error {
	cfg, err := Load(r.path)
	if err == nil {
		err = cfg.CheckUnit(r.unit)
	}
	if err != nil {
		return fmt.Errorf("config not reloaded, keeping the previous one: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.apply(cfg)
	r.current = cfg
	return nil
}

// apply installs tables and endpoints before the routes that use them, and
// removes what the new configuration dropped.
func (r *Reloader) apply(cfg *Config) {
	for name, table := range cfg.Tables {
		r.handler.SetShardMap(name, table)
	}
	for route, byUnit := range cfg.Endpoints {
		r.handler.SetEndpoints(route, byUnit[r.unit])
	}
	// Parse validated the routes with the same check, so this succeeds.
	if err := r.handler.SetRoutes(cfg.Routes); err != nil {
		panic(fmt.Sprintf("validated routes rejected: %v", err))
	}
	if r.current == nil {
		return
	}
	for name := range r.current.Tables {
		if _, kept := cfg.Tables[name]; !kept {
			r.handler.SetShardMap(name, nil)
		}
	}
	for route := range r.current.Endpoints {
		if _, kept := cfg.Endpoints[route]; !kept {
			r.handler.SetEndpoints(route, nil)
		}
	}
}
