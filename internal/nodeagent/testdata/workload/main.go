// Command workload is the live-node tests' container: a small HTTP server
// on $POD_IP:8080 that tells who it is and can be made to fail.
//
//	GET  /           "<tag> <pod> <unit>"
//	GET  /readyz     200, or 503 after POST /unready
//	POST /unready    fail readiness from now on
//	POST /exit?code= exit at once with that code
//
// On SIGTERM it exits 0, unless IGNORE_TERM=1 (to test the SIGKILL after
// the grace period).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
)

func main() {
	var unready atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s\n", os.Getenv("CAFE_IMAGE_TAG"), os.Getenv("POD_NAME"), os.Getenv("CAFE_UNIT"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if unready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /unready", func(w http.ResponseWriter, r *http.Request) { unready.Store(true) })
	mux.HandleFunc("POST /exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		os.Exit(code)
	})
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM)
	go func() {
		for range signals {
			fmt.Println("SIGTERM")
			if os.Getenv("IGNORE_TERM") != "1" {
				os.Exit(0)
			}
		}
	}()
	addr := net.JoinHostPort(os.Getenv("POD_IP"), "8080")
	fmt.Println("listening on", addr)
	if err := http.ListenAndServe(addr, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
