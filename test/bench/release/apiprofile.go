package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// profileAPIServer records the API server's CPU for the first seconds of a
// release into <prefix>-<scenario>.pprof, in the background; the returned
// function waits for it. Without a prefix it does nothing.
func profileAPIServer(cfg *rest.Config, prefix, scenario string, seconds int) (wait func() error) {
	if prefix == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() { done <- fetchProfile(cfg, fmt.Sprintf("%s-%s.pprof", prefix, scenario), seconds) }()
	return func() error { return <-done }
}

func fetchProfile(cfg *rest.Config, path string, seconds int) error {
	hc, err := apiHTTPClient(cfg, 0)
	if err != nil {
		return err
	}
	resp, err := hc.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimSuffix(cfg.Host, "/"), seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("API server profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// apiHTTPClient reaches the API server's own endpoints (/metrics,
// /debug/pprof) with the benchmark's credentials.
func apiHTTPClient(cfg *rest.Config, timeout time.Duration) (*http.Client, error) {
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg.Clone()}, Timeout: timeout}, nil
}
