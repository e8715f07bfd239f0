package demostack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cafe-dev/cafe/internal/platform"
)

// Store ports on each unit's own address.
const (
	etcdClientPort = 2379
	etcdPeerPort   = 2380
)

// EtcdChild and RouterChild name the platform children of a unit's store
// member and router.
func EtcdChild(unit string) string   { return "demo-etcd-" + unit }
func RouterChild(unit string) string { return "demo-router-" + unit }

// startEtcd starts one store member inside each unit, on the unit's own
// address, so that losing a unit loses one member of the quorum and no
// acknowledged write.
func (s *Stack) startEtcd(ctx context.Context) error {
	o := s.o
	dir := filepath.Join(o.Platform.DataDir(), "demo", o.Namespace, "etcd")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	var initial []string
	for _, unit := range o.Units {
		initial = append(initial, fmt.Sprintf("%s=http://%s:%d", unit, o.Platform.UnitAddress(unit), etcdPeerPort))
	}
	for _, unit := range o.Units {
		addr := o.Platform.UnitAddress(unit)
		client := fmt.Sprintf("http://%s:%d", addr, etcdClientPort)
		peer := fmt.Sprintf("http://%s:%d", addr, etcdPeerPort)
		args := []string{
			"--name=" + unit,
			"--data-dir=" + filepath.Join(dir, unit),
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=" + strings.Join(initial, ","),
			"--initial-cluster-state=new",
			"--initial-cluster-token=cafe-demo-" + o.Namespace,
			"--listen-metrics-urls=",
			// Quick elections: a lost unit's member must not stall writes
			// for long (the defaults are 100 ms and 1 s).
			"--heartbeat-interval=50",
			"--election-timeout=500",
			"--log-level=warn",
		}
		if _, err := o.Platform.StartInUnit(EtcdChild(unit), unit, o.EtcdBinary, args); err != nil {
			return err
		}
		s.children[unit] = append(s.children[unit], EtcdChild(unit))
		s.EtcdEndpoints = append(s.EtcdEndpoints, client)
	}
	return s.waitEtcdHealthy(ctx)
}

func (s *Stack) waitEtcdHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	httpc := &http.Client{Timeout: time.Second}
	for _, endpoint := range s.EtcdEndpoints {
		for {
			resp, err := httpc.Get(endpoint + "/health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the demo's store member %s is not healthy (%v); see the platform's %s logs", endpoint, err, "demo-etcd-*.log")
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	s.o.Log("store: %d etcd members, one per unit", len(s.EtcdEndpoints))
	return nil
}

// startRouters starts one cafe-router per unit on loopback, each a
// candidate for the failover leader.
func (s *Stack) startRouters() error {
	o := s.o
	for _, unit := range o.Units {
		metrics, err := platform.FreePort()
		if err != nil {
			return err
		}
		args := []string{
			"--unit=" + unit,
			"--listen=" + s.Routers[unit],
			"--metrics-listen=" + fmt.Sprintf("127.0.0.1:%d", metrics),
			"--kubeconfig=" + o.Platform.KubeconfigPath(),
			"--namespace=" + o.Namespace,
			"--failover",
			"--lease-name=cafe-router-failover",
			"--access-log-sample=0",
		}
		if _, err := o.Platform.StartInUnit(RouterChild(unit), "", o.RouterBinary, args); err != nil {
			return err
		}
		s.children[unit] = append(s.children[unit], RouterChild(unit))
	}
	return nil
}
