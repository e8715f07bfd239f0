package nodeagent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cafe-dev/cafe/internal/ctxsleep"
)

// probeKind tells readiness from liveness results.
type probeKind string

const (
	readiness probeKind = "readiness"
	liveness  probeKind = "liveness"
)

// probeResult is a change of a probe's verdict for one container process.
type probeResult struct {
	Container string
	PID       int
	Kind      probeKind
	OK        bool
	Message   string
}

// prober runs one probe of one container process until ctx ends, with
// kubelet's thresholds, and reports each change of verdict. Readiness starts
// failed and liveness starts passing, as in kubelet.
func prober(ctx context.Context, kind probeKind, container string, pid int, podIP string, p *corev1.Probe, report func(probeResult)) {
	period := seconds(p.PeriodSeconds, 10)
	timeout := seconds(p.TimeoutSeconds, 1)
	success := int(max(p.SuccessThreshold, 1))
	failure := int(max(p.FailureThreshold, 3))
	if kind == liveness {
		success = 1 // kubelet requires 1 for liveness
	}
	verdict := kind == liveness
	passes, fails := 0, 0
	if !ctxsleep.For(ctx, time.Duration(p.InitialDelaySeconds)*time.Second) {
		return
	}
	for {
		err := probeOnce(ctx, podIP, p, timeout)
		if err == nil {
			passes, fails = passes+1, 0
		} else {
			passes, fails = 0, fails+1
		}
		switch {
		case !verdict && passes >= success:
			verdict = true
			report(probeResult{Container: container, PID: pid, Kind: kind, OK: true})
		case verdict && fails >= failure:
			verdict = false
			report(probeResult{Container: container, PID: pid, Kind: kind, OK: false, Message: err.Error()})
		}
		if !ctxsleep.For(ctx, period) {
			return
		}
	}
}

// probeOnce runs an HTTP GET or TCP probe against the pod's address. Exec
// probes need a container runtime; a live node refuses them when the pod is
// admitted (see admitPod).
func probeOnce(ctx context.Context, podIP string, p *corev1.Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		host := p.HTTPGet.Host
		if host == "" {
			host = podIP
		}
		port, err := portNumber(p.HTTPGet.Port)
		if err != nil {
			return err
		}
		scheme := "http"
		if p.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		url := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + p.HTTPGet.Path
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for _, h := range p.HTTPGet.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		req.Header.Set("User-Agent", "cafe-node-probe")
		resp, err := probeClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with status code %d", resp.StatusCode)
		}
		return nil
	case p.TCPSocket != nil:
		port, err := portNumber(p.TCPSocket.Port)
		if err != nil {
			return err
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("probe has no HTTP GET or TCP socket action")
}

// probeClient does not keep connections: every probe opens its own, as
// kubelet's do, so a probe proves the pod still accepts connections.
var probeClient = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// portNumber accepts numeric ports only: named ports would need the
// container's port list, which probes on live nodes do not look up.
func portNumber(p intstr.IntOrString) (int, error) {
	if p.Type == intstr.Int && p.IntVal > 0 {
		return int(p.IntVal), nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil && n > 0 {
		return n, nil
	}
	return 0, fmt.Errorf("probe port %q: live nodes need a port number", p.String())
}

func seconds(v int32, def int) time.Duration {
	if v <= 0 {
		return time.Duration(def) * time.Second
	}
	return time.Duration(v) * time.Second
}
