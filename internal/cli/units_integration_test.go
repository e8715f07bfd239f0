//go:build integration

package cli

import (
	"encoding/json"
	"testing"
)

func TestUnitsListsNodesCapacityAndPodsPerWorkload(t *testing.T) {
	ns := env.Namespace(t)
	createCompleted(t, ns, workloadSpec(ns, 6, "pay:v1", betaStrategy))
	golden(t, "units-platform", mustCafe(t, ns, "units"))

	var units []UnitCapacityView
	if err := json.Unmarshal([]byte(mustCafe(t, ns, "units", "-o", "json", "--unit-label", "topology.kubernetes.io/zone")), &units); err != nil {
		t.Fatal(err)
	}
	if len(units) != 3 || len(units[0].Nodes) != 2 || units[0].CafePods != 2 || units[0].Workloads[0] != (UnitWorkload{Name: "pay", Pods: 2, Ready: 2, Serving: 2}) {
		t.Errorf("units -o json by the zone label: %+v", units)
	}
}
