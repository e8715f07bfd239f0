//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
	"github.com/cafe-dev/cafe/internal/demo/demotest"
	"github.com/cafe-dev/cafe/internal/testenv"
)

// runAsMain makes the test binary, started again by a test with this
// variable set, run the real command: the test then sends it a real SIGTERM.
const runAsMain = "CAFE_DEMO_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// SIGTERM turns /readyz to 503 at once; during the drain period new
// requests are still served; a request in flight when the signal came
// completes after the drain; then the process exits 0.
func TestSIGTERMDrainsWithoutFailingRequests(t *testing.T) {
	etcd := demotest.StartEtcdCluster(t, 3)
	addr := testenv.FreeAddr(t)
	base := "http://" + addr
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), runAsMain+"=1",
		"CAFE_DEMO_LISTEN="+addr, "CAFE_DEMO_VERSION=v2", "CAFE_DEMO_UNIT=unit-a", "CAFE_DEMO_POD=pay-a-0",
		"CAFE_DEMO_ETCD="+strings.Join(etcd.Endpoints(), ","), "CAFE_DEMO_SHUTDOWN_DELAY=1s")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // by PID; a no-op once it has exited
	})
	waitStatus(t, base+"/readyz", http.StatusOK, 10*time.Second)
	var version demo.Identity
	if status := getJSON(t, base+"/version", &version); status != 200 || version != (demo.Identity{Version: "v2", Unit: "unit-a", Pod: "pay-a-0"}) {
		t.Fatalf("version %d %+v, want v2 in unit-a from the environment", status, version)
	}
	for _, acct := range []string{"alice", "bob"} {
		if status := put(t, base+"/accounts/"+acct, `{"balance":100}`); status != http.StatusCreated {
			t.Fatalf("open %s: %d", acct, status)
		}
	}

	// A transfer in flight: its body arrives in two halves, the second
	// one after the drain period, while Shutdown waits for it.
	body, bodyWriter := io.Pipe()
	inFlight := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+"/transfers", "application/json", body)
		if err != nil {
			t.Errorf("in-flight transfer: %v", err)
			inFlight <- 0
			return
		}
		resp.Body.Close()
		inFlight <- resp.StatusCode
	}()
	fmt.Fprint(bodyWriter, `{"id":"in-flight","from":"alice",`)
	time.Sleep(200 * time.Millisecond)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, base+"/readyz", http.StatusServiceUnavailable, 300*time.Millisecond)
	var acct demo.Account
	if status := getJSON(t, base+"/accounts/alice", &acct); status != http.StatusOK {
		t.Errorf("a new request during the drain period answered %d, want 200", status)
	}

	time.Sleep(1200 * time.Millisecond) // past the drain period: Shutdown is waiting
	fmt.Fprint(bodyWriter, `"to":"bob","amount":30}`)
	bodyWriter.Close()
	if status := <-inFlight; status != http.StatusCreated {
		t.Errorf("the in-flight transfer answered %d, want 201", status)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("cafe-demo exited with %v, want exit status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cafe-demo still running 10 s after its in-flight request completed")
	}
}

func waitStatus(t *testing.T, url string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d within %s (last: %s)", url, want, within, last)
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

func put(t *testing.T, url, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
