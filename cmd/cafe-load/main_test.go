package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/loadgen"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", []string{"--target=http://127.0.0.1:8080"}, ""},
		{"two targets by user", []string{"--target=http://a:1, http://b:2", "--spread=by-user", "-o", "json"}, ""},
		{"no target", nil, "no target"},
		{"etcd ledger without etcd", []string{"--target=http://a:1", "--ledger=etcd"}, "needs --etcd"},
		{"unknown ledger", []string{"--target=http://a:1", "--ledger=db"}, "use service, etcd or none"},
		{"unknown format", []string{"--target=http://a:1", "-o", "yaml"}, "use text or json"},
		{"too few accounts", []string{"--target=http://a:1", "--accounts=10"}, "some shards would get no user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("parseFlags = %v, want %q", err, tt.wantErr)
			}
			if tt.name == "defaults" && (o.load.Rate != 200 || o.load.Timeout != 5*time.Second || o.load.Duration != time.Minute || o.load.Spread != loadgen.RoundRobin) {
				t.Errorf("defaults %+v", o.load)
			}
		})
	}
}
