//go:build integration

package loadgen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
	"github.com/cafe-dev/cafe/internal/demo/demotest"
	"github.com/cafe-dev/cafe/internal/loadgen"
)

// Ten seconds of the default stream against two replicas in two units on a
// real 3-member etcd: nothing fails, and the ledger adds up, read both
// through the service and straight from etcd.
func TestLoadAgainstTwoReplicasOnEtcd(t *testing.T) {
	etcd := demotest.StartEtcdCluster(t, 3)
	prefix := demotest.Prefix(t)
	a := demotest.StartReplica(t, etcd.Endpoints(), prefix, demo.Identity{Version: "v1", Unit: "unit-a", Pod: "a-0"})
	b := demotest.StartReplica(t, etcd.Endpoints(), prefix, demo.Identity{Version: "v2", Unit: "unit-b", Pod: "b-0"})

	rep, err := loadgen.Run(context.Background(), loadgen.Config{
		Targets:  []string{a.URL, b.URL},
		Duration: 10 * time.Second,
		Progress: func(p loadgen.Progress) { t.Log(p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	_ = rep.WriteText(&text)
	t.Log("\n" + text.String())
	if rep.Failed != 0 {
		t.Errorf("%d requests failed, want none", rep.Failed)
	}
	if rep.Sent < 1900 || rep.Sent > 2000 {
		t.Errorf("sent %d requests in 10 s at 200/s", rep.Sent)
	}
	if share := float64(rep.SentByOp[loadgen.OpTransfer]) / float64(rep.Sent); share < 0.3 {
		t.Errorf("transfers are %.0f%% of the requests, want at least 30%%", share*100)
	}
	for unit, version := range map[string]string{"unit-a": "v1", "unit-b": "v2"} {
		if got := rep.VersionsInOrder(unit); len(got) != 1 || got[0] != version {
			t.Errorf("%s answered from versions %v, want [%s]", unit, got, version)
		}
	}
	for name, src := range map[string]loadgen.LedgerSource{"service": loadgen.NewServiceLedger(b.URL, 5*time.Second), "etcd": a.Store} {
		lr := loadgen.CheckLedger(context.Background(), src, rep)
		if !lr.Passed || lr.Acknowledged == 0 || lr.AcknowledgedFound != lr.Acknowledged || lr.FinalTotal != lr.OpenedTotal {
			t.Errorf("ledger check through %s: %+v", name, lr)
		}
	}
}
