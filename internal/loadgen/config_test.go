package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	valid := Config{Targets: []string{"http://127.0.0.1:8080"}, Duration: time.Second}.WithDefaults()
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no target", func(c *Config) { c.Targets = nil }, "no target"},
		{"target without scheme", func(c *Config) { c.Targets = []string{"127.0.0.1:8080"} }, "is not a base URL"},
		{"unknown spread", func(c *Config) { c.Spread = "random" }, "spread"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"fewer accounts than shards", func(c *Config) { c.Accounts = 50 }, "some shards would get no user"},
		{"ratio above 1", func(c *Config) { c.TransferRatio = 1.5 }, "transfer ratio"},
		{"by user", func(c *Config) { c.Spread = ByUser }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.change(&c)
			err := c.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if valid.Rate != 200 || valid.Shards != 100 || valid.Accounts != 200 || valid.Timeout != 5*time.Second || valid.TransferRatio < 0.3 {
		t.Errorf("defaults %+v", valid)
	}
}

func TestPercentiles(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	s := summarize(samples)
	if s.Count != 100 || s.P50 != 50*time.Millisecond || s.P90 != 90*time.Millisecond || s.P99 != 99*time.Millisecond || s.Max != 100*time.Millisecond {
		t.Errorf("summary %+v", s)
	}
	if one := summarize([]time.Duration{7}); one.P50 != 7 || one.P99 != 7 {
		t.Errorf("one sample %+v", one)
	}
	if (summarize(nil) != LatencySummary{}) {
		t.Error("no samples give a summary")
	}
}
