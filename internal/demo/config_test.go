package demo

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	required := []string{"--version=v1", "--unit=unit-a", "--etcd=http://127.0.0.1:2379"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", required, nil, func(c Config) bool {
			return c.Listen == ":8080" && c.ShutdownDelay == 2*time.Second && c.EtcdPrefix == DefaultEtcdPrefix
		}, ""},
		{"all from the environment", nil, map[string]string{
			"CAFE_DEMO_VERSION": "v2", "CAFE_DEMO_UNIT": "unit-b", "CAFE_DEMO_POD": "pay-b-1",
			"CAFE_DEMO_ETCD": "http://a:2379, http://b:2379,", "CAFE_DEMO_LISTEN": ":9000", "CAFE_DEMO_SHUTDOWN_DELAY": "5s",
		}, func(c Config) bool {
			return c.Identity == Identity{Version: "v2", Unit: "unit-b", Pod: "pay-b-1"} && c.Listen == ":9000" &&
				slices.Equal(c.EtcdEndpoints, []string{"http://a:2379", "http://b:2379"}) && c.ShutdownDelay == 5*time.Second
		}, ""},
		{"flag beats the environment", append([]string{"--listen=:7000"}, required...), map[string]string{"CAFE_DEMO_LISTEN": ":9000"},
			func(c Config) bool { return c.Listen == ":7000" }, ""},
		{"no version", []string{"--unit=a", "--etcd=x"}, nil, nil, "--version (or CAFE_DEMO_VERSION) is required"},
		{"no unit", []string{"--version=v1", "--etcd=x"}, nil, nil, "--unit (or CAFE_DEMO_UNIT) is required"},
		{"no etcd", []string{"--version=v1", "--unit=a", "--etcd= , "}, nil, nil, "--etcd (or CAFE_DEMO_ETCD) is required"},
		{"bad duration in the environment", required, map[string]string{"CAFE_DEMO_ETCD_TIMEOUT": "soon"}, nil, "CAFE_DEMO_ETCD_TIMEOUT"},
		{"zero etcd timeout", append([]string{"--etcd-timeout=0s"}, required...), nil, nil, "must be positive"},
		{"stray argument", append(required, "extra"), nil, nil, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}

func TestEnvVar(t *testing.T) {
	if got := EnvVar("shutdown-delay"); got != "CAFE_DEMO_SHUTDOWN_DELAY" {
		t.Errorf("EnvVar = %s", got)
	}
}
