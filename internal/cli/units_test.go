package cli

import (
	"bytes"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cafe-dev/cafe/internal/controller/cafedeployment"
)

func fixtureNode(name, unit string) corev1.Node {
	n := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
		}},
	}
	if unit != "" {
		n.Labels[cafedeployment.DefaultUnitLabel] = unit
	}
	return n
}

func unitsFixture() ([]corev1.Node, []corev1.Pod) {
	nodes := []corev1.Node{
		fixtureNode("unit-b-node-0", "unit-b"), fixtureNode("unit-a-node-1", "unit-a"),
		fixtureNode("unit-a-node-0", "unit-a"), fixtureNode("edge-0", ""),
	}
	onNode := func(node string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.NodeName = node } }
	pods := []corev1.Pod{
		fixturePod("unit-a", 0, "pay-v1", onNode("unit-a-node-1")),
		fixturePod("unit-a", 1, "pay-v1", onNode("unit-a-node-0"), setCondition("apps.cafe.dev/serving", corev1.ConditionFalse, "Update")),
		fixturePod("unit-b", 0, "pay-v1", onNode("unit-b-node-0")),
		// No node yet: counted in the unit it is pinned to, as pending.
		fixturePod("unit-b", 1, "pay-v1", unscheduled),
		fixturePod("unit-a", 0, "pay-v1", onNode("unit-a-node-0"), func(p *corev1.Pod) {
			p.Namespace, p.Name = "other", "fx-unit-a-0"
			p.Labels["apps.cafe.dev/cafedeployment"] = "fx"
		}),
	}
	return nodes, pods
}

func TestBuildUnitsGroupsNodesAndCountsPodsPerWorkload(t *testing.T) {
	nodes, pods := unitsFixture()
	units := buildUnits(nodes, pods, cafedeployment.DefaultUnitLabel, true)
	if len(units) != 3 || units[0].Name != "unit-a" || units[1].Name != "unit-b" || units[2].Name != noUnit {
		t.Fatalf("units %+v, want unit-a, unit-b, then the unlabelled nodes", units)
	}
	a := units[0]
	if a.Allocatable != (Allocatable{Pods: 220, CPU: "64", Memory: "256Gi"}) || a.CafePods != 3 || len(a.Nodes) != 2 || a.Nodes[0] != "unit-a-node-0" {
		t.Errorf("unit-a: %+v", a)
	}
	if len(a.Workloads) != 2 || a.Workloads[0] != (UnitWorkload{Name: "demo/pay", Pods: 2, Ready: 2, Serving: 1}) || a.Workloads[1].Name != "other/fx" {
		t.Errorf("unit-a workloads: %+v", a.Workloads)
	}
	if b := units[1]; b.CafePods != 2 || b.Workloads[0] != (UnitWorkload{Name: "demo/pay", Pods: 2, Ready: 1, Serving: 1, Pending: 1}) {
		t.Errorf("unit-b: %+v", b)
	}
}

func TestUnitsGolden(t *testing.T) {
	nodes, pods := unitsFixture()
	var buf bytes.Buffer
	if err := renderUnits(&buf, buildUnits(nodes, pods[:4], cafedeployment.DefaultUnitLabel, false)); err != nil {
		t.Fatal(err)
	}
	golden(t, "units", buf.String())
}
