package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/cafe-dev/cafe/internal/platform"
)

// backendRole is the benchmark's upstream, run as a child process
// (`bench -role backend -listen addr`) so its CPU time is its own.
func backendRole(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	body := []byte("ok\n")
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header()["Content-Type"] = []string{"text/plain"}
			_, _ = w.Write(body)
		}),
	}
	return srv.Serve(l)
}

func startBackend(workers int) (*process, string, error) {
	addr, err := platform.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	p, err := start("backend", []string{"GOMAXPROCS=" + strconv.Itoa(workers)}, self, "-role", "backend", "-listen", addr)
	if err != nil {
		return nil, "", err
	}
	return p, addr, platform.WaitListening(addr, 10*time.Second)
}

// routerConfig is a one-unit standalone configuration: every shard is
// local, so each request costs one shard lookup and one upstream hop, as a
// request for the router's own unit does.
const routerConfig = `shardMaps:
- name: users
  epoch: 1
  shards: 100
  key: {source: Header, name: X-Cafe-Uid, digits: {count: 2}}
  units:
  - {name: bench, ranges: [{from: 0, to: 99}]}
routes:
- name: accounts
  host: "*"
  shardMap: users
  endpoints:
    bench: ["%s"]
`

func startRouter(bin, dir, backend string, workers int) (*process, string, error) {
	addr, err := platform.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	cfg, err := writeFile(dir, "router.yaml", fmt.Sprintf(routerConfig, backend))
	if err != nil {
		return nil, "", err
	}
	p, err := start("cafe-router", []string{"GOMAXPROCS=" + strconv.Itoa(workers)}, bin,
		"--unit", "bench", "--listen", addr, "--config", cfg, "--metrics-listen", "",
		"--access-log-sample", "0", "--log-level", "warn")
	if err != nil {
		return nil, "", err
	}
	return p, addr, platform.WaitListening(addr, 10*time.Second)
}

// nginxConfig is nginx as a plain reverse proxy with upstream keep-alive,
// no access log: the same work the router does, minus shard lookup.
const nginxConfig = `worker_processes %d;
daemon off;
master_process on;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  keepalive_requests 1000000;
  upstream backend {
    server %[3]s;
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen %[4]s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`

func startNginx(bin, dir, backend string, workers int) (*process, string, error) {
	addr, err := platform.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	cfg, err := writeFile(dir, "nginx.conf", fmt.Sprintf(nginxConfig, workers, dir, backend, addr))
	if err != nil {
		return nil, "", err
	}
	p, err := start("nginx", nil, bin, "-e", dir+"/error.log", "-p", dir, "-c", cfg)
	if err != nil {
		return nil, "", err
	}
	return p, addr, platform.WaitListening(addr, 10*time.Second)
}
