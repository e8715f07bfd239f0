package demotest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdCluster is a real etcd cluster on loopback, one process per member,
// each stopped only by its own PID.
type EtcdCluster struct {
	t       testing.TB
	members []*etcdMember
}

type etcdMember struct {
	name      string
	clientURL string
	logPath   string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// StartEtcdCluster starts an etcd cluster of size members on free loopback
// ports, its data in a temporary directory, and waits until every member
// reports healthy. The members are killed when the test ends, and by the
// kernel (Pdeathsig) if the test process dies first. It fails the test if
// bin/etcd is missing (`make tools` builds it) or the cluster does not
// become healthy within 30 s.
func StartEtcdCluster(t testing.TB, size int) *EtcdCluster {
	t.Helper()
	binary := filepath.Join(BinDir(t), "etcd")
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("etcd binary: %v: build it with `make tools` (or point CAFE_BIN_DIR at a directory holding etcd)", err)
	}
	dir := t.TempDir()
	c := &EtcdCluster{t: t}
	peers := make([]string, size)
	clientAddrs := make([]string, size)
	var initial []string
	for i := range size {
		peers[i] = "http://" + freeLoopbackAddr(t)
		clientAddrs[i] = "http://" + freeLoopbackAddr(t)
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peers[i]))
	}
	for i := range size {
		m := &etcdMember{
			name:      fmt.Sprintf("m%d", i),
			clientURL: clientAddrs[i],
			logPath:   filepath.Join(dir, fmt.Sprintf("m%d.log", i)),
			exited:    make(chan struct{}),
		}
		args := []string{
			"--name=" + m.name,
			"--data-dir=" + filepath.Join(dir, m.name),
			"--listen-client-urls=" + m.clientURL,
			"--advertise-client-urls=" + m.clientURL,
			"--listen-peer-urls=" + peers[i],
			"--initial-advertise-peer-urls=" + peers[i],
			"--initial-cluster=" + strings.Join(initial, ","),
			"--initial-cluster-state=new",
			"--initial-cluster-token=" + filepath.Base(dir),
			"--listen-metrics-urls=",
			// A disposable test cluster: durability is not worth the latency.
			"--unsafe-no-fsync",
			"--log-level=warn",
		}
		c.start(m, binary, args)
	}
	t.Cleanup(c.stop)
	c.waitHealthy(30 * time.Second)
	return c
}

// Endpoints are the members' client URLs, dead members included (a client
// is expected to cope, as it would in production).
func (c *EtcdCluster) Endpoints() []string {
	urls := make([]string, len(c.members))
	for i, m := range c.members {
		urls[i] = m.clientURL
	}
	return urls
}

// Kill kills member i with SIGKILL and waits until it is gone.
func (c *EtcdCluster) Kill(i int) {
	c.t.Helper()
	m := c.members[i]
	if err := m.cmd.Process.Kill(); err != nil {
		c.t.Fatalf("kill etcd member %s (pid %d): %v", m.name, m.cmd.Process.Pid, err)
	}
	<-m.exited
}

func (c *EtcdCluster) start(m *etcdMember, binary string, args []string) {
	c.t.Helper()
	logFile, err := os.Create(m.logPath)
	if err != nil {
		c.t.Fatalf("etcd log file: %v", err)
	}
	m.cmd = exec.Command(binary, args...)
	m.cmd.Stdout = logFile
	m.cmd.Stderr = logFile
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		logFile.Close()
		c.t.Fatalf("start etcd member %s: %v", m.name, err)
	}
	c.members = append(c.members, m)
	go func() {
		_ = m.cmd.Wait()
		logFile.Close()
		close(m.exited)
	}()
}

// stop kills every member still running, by PID, and shows the logs of a
// failed test.
func (c *EtcdCluster) stop() {
	for _, m := range c.members {
		select {
		case <-m.exited:
		default:
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	}
	if c.t.Failed() {
		c.logTails()
	}
}

func (c *EtcdCluster) waitHealthy(timeout time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, m := range c.members {
		for !healthy(ctx, m.clientURL) {
			select {
			case <-m.exited:
				c.logTails()
				c.t.Fatalf("etcd member %s exited during start-up (log above)", m.name)
			case <-ctx.Done():
				c.logTails()
				c.t.Fatalf("etcd member %s not healthy within %s (log above)", m.name, timeout)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

func healthy(ctx context.Context, clientURL string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (c *EtcdCluster) logTails() {
	for _, m := range c.members {
		data, _ := os.ReadFile(m.logPath)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		c.t.Logf("etcd member %s log (tail):\n%s", m.name, data)
	}
}

// freeLoopbackAddr returns a loopback address that was free a moment ago.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free loopback port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// BinDir is the repository's bin/ directory, or $CAFE_BIN_DIR.
func BinDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("CAFE_BIN_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(data), "module github.com/cafe-dev/cafe\n") {
			return filepath.Join(dir, "bin")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("not inside the CAFE repository: cannot find bin/etcd (set CAFE_BIN_DIR)")
		}
		dir = parent
	}
}

// Leader is the index of the member that leads the cluster now.
func (c *EtcdCluster) Leader() int {
	c.t.Helper()
	client, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		c.t.Fatalf("etcd client: %v", err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, m := range c.members {
		status, err := client.Status(ctx, m.clientURL)
		if err == nil && status.Header.MemberId == status.Leader {
			return i
		}
	}
	c.t.Fatal("no etcd member says it leads the cluster")
	return -1
}
