package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUpgradedConnectionIsNotInspected upgrades a connection to an echo
// protocol through the router, then sends bytes the guard would refuse as
// HTTP: they must pass through untouched.
func TestUpgradedConnectionIsNotInspected(t *testing.T) {
	echo := echoUpstream(t)
	r := singleUnitRouter(t, Options{}, Route{}, echo.addr())
	c, br := upgradeToEcho(t, r.addr)
	payload := "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	if got := echoThrough(t, c, br, payload); got != payload {
		t.Fatalf("echoed %q", got)
	}
}

// TestUpgradedConnectionOutlivesHeaderTimeout: bytes sent upstream on an
// upgraded connection long after the response-header timeout, which bounded
// writing the request, still go through.
func TestUpgradedConnectionOutlivesHeaderTimeout(t *testing.T) {
	echo := echoUpstream(t)
	r := singleUnitRouter(t, Options{}, Route{Timeouts: Timeouts{ResponseHeader: 50 * time.Millisecond}}, echo.addr())
	c, br := upgradeToEcho(t, r.addr)
	time.Sleep(200 * time.Millisecond)
	if got := echoThrough(t, c, br, "late"); got != "late" {
		t.Fatalf("echoed %q", got)
	}
}

// echoUpstream switches every request to a protocol that echoes bytes.
func echoUpstream(t *testing.T) *backend {
	return newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = rw.Flush()
		buf := make([]byte, 1024)
		for {
			n, err := rw.Read(buf)
			if n > 0 {
				_, _ = conn.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	})
}

// upgradeToEcho upgrades a connection to the router to echoUpstream's
// protocol.
func upgradeToEcho(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nX-Cafe-Uid: U01\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %d", resp.StatusCode)
	}
	if !strings.EqualFold(resp.Header.Get(HeaderUnit), "a") {
		t.Errorf("101 response %s = %q", HeaderUnit, resp.Header.Get(HeaderUnit))
	}
	return c, br
}

// echoThrough sends payload on an upgraded connection and returns what
// came back.
func echoThrough(t *testing.T, c net.Conn, br *bufio.Reader, payload string) string {
	t.Helper()
	_, _ = io.WriteString(c, payload)
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatalf("echo: %v (got %q)", err, got)
	}
	return string(got)
}
