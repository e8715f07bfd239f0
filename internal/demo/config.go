package demo

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// Config is the service's configuration. A node agent starts the service as
// a plain process, so every setting can come from a flag or, when the flag
// is not given, from an environment variable.
type Config struct {
	Listen          string
	Identity        Identity
	EtcdEndpoints   []string
	EtcdPrefix      string
	EtcdTimeout     time.Duration
	RequestTimeout  time.Duration
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
}

// Defaults of the settings that have one.
const (
	DefaultListen          = ":8080"
	DefaultEtcdPrefix      = "/cafe-demo/"
	DefaultEtcdTimeout     = 2 * time.Second
	DefaultRequestTimeout  = 4 * time.Second
	DefaultShutdownDelay   = 2 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// ParseConfig reads flags from args, falling back to environment variables
// (read with getenv) for flags that were not given.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	var c Config
	var etcd string
	fs := flag.NewFlagSet("cafe-demo", flag.ContinueOnError)
	fs.StringVar(&c.Listen, "listen", DefaultListen, "HTTP/1.1 listen address (env CAFE_DEMO_LISTEN)")
	fs.StringVar(&c.Identity.Version, "version", "", "version this binary reports, e.g. v2 for image cafe/demo:v2 (env CAFE_DEMO_VERSION; required)")
	fs.StringVar(&c.Identity.Unit, "unit", "", "unit (data center) this replica runs in (env CAFE_DEMO_UNIT; required)")
	fs.StringVar(&c.Identity.Pod, "pod", "", "pod name of this replica (env CAFE_DEMO_POD; default: the host name)")
	fs.StringVar(&etcd, "etcd", "", "comma-separated etcd client URLs (env CAFE_DEMO_ETCD; required)")
	fs.StringVar(&c.EtcdPrefix, "etcd-prefix", DefaultEtcdPrefix, "key prefix of the service's data in etcd (env CAFE_DEMO_ETCD_PREFIX)")
	fs.DurationVar(&c.EtcdTimeout, "etcd-timeout", DefaultEtcdTimeout, "deadline of each etcd call (env CAFE_DEMO_ETCD_TIMEOUT)")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", DefaultRequestTimeout, "deadline of each request, retries of etcd conflicts included (env CAFE_DEMO_REQUEST_TIMEOUT)")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", DefaultShutdownDelay, "after SIGTERM, keep serving this long with /readyz at 503 so that routers stop sending (env CAFE_DEMO_SHUTDOWN_DELAY)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "then wait at most this long for in-flight requests (env CAFE_DEMO_SHUTDOWN_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	if err := applyEnv(fs, getenv); err != nil {
		return c, err
	}
	for _, e := range strings.Split(etcd, ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.EtcdEndpoints = append(c.EtcdEndpoints, e)
		}
	}
	return c, c.validate()
}

// applyEnv sets every flag not given on the command line from its
// environment variable CAFE_DEMO_<FLAG> (dashes become underscores).
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvVar(f.Name)
		v := getenv(name)
		if given[f.Name] || v == "" || err != nil {
			return
		}
		if setErr := f.Value.Set(v); setErr != nil {
			err = fmt.Errorf("environment variable %s=%q: %w", name, v, setErr)
		}
	})
	return err
}

// EnvVar is the environment variable that stands in for a flag.
func EnvVar(flagName string) string {
	return "CAFE_DEMO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (c Config) validate() error {
	switch {
	case c.Identity.Version == "":
		return errors.New("--version (or CAFE_DEMO_VERSION) is required: the version this binary reports, e.g. v2")
	case c.Identity.Unit == "":
		return errors.New("--unit (or CAFE_DEMO_UNIT) is required: the unit this replica runs in, e.g. unit-a")
	case len(c.EtcdEndpoints) == 0:
		return errors.New("--etcd (or CAFE_DEMO_ETCD) is required: comma-separated etcd client URLs, e.g. http://127.0.0.1:2379")
	case c.EtcdTimeout <= 0 || c.RequestTimeout <= 0:
		return errors.New("--etcd-timeout and --request-timeout must be positive: a cut unit must not hang requests forever")
	case c.ShutdownDelay < 0 || c.ShutdownTimeout <= 0:
		return errors.New("--shutdown-delay must not be negative and --shutdown-timeout must be positive")
	}
	return nil
}
