package kwokstages

import (
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

func TestRenderFillsEveryPlaceholderAndParses(t *testing.T) {
	out, err := Render(Options{StartLatency: 1500 * time.Millisecond, SandboxLatency: 700 * time.Millisecond, NodeLeaseSeconds: 7, FallbackCIDR: "100.64.255.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "${") {
		t.Fatalf("unfilled placeholder left in:\n%s", out)
	}
	stages := map[string]bool{}
	for _, doc := range strings.Split(out, "\n---\n") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Options map[string]any `json:"options"`
			Spec    struct {
				Delay struct {
					DurationMilliseconds *int64 `json:"durationMilliseconds"`
				} `json:"delay"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("document does not parse: %v\n%s", err, doc)
		}
		switch obj.Kind {
		case "KwokConfiguration":
			if obj.Options["nodeLeaseDurationSeconds"] != float64(7) || obj.Options["cidr"] != "100.64.255.0/24" {
				t.Errorf("options not rendered: %v", obj.Options)
			}
		case "Stage":
			stages[obj.Metadata.Name] = true
			want := map[string]int64{"cafe-container-start": 1500, "cafe-pod-create": 700}
			if ms, ok := want[obj.Metadata.Name]; ok {
				if d := obj.Spec.Delay.DurationMilliseconds; d == nil || *d != ms {
					t.Errorf("%s delay = %v, want %dms", obj.Metadata.Name, d, ms)
				}
			}
		default:
			t.Errorf("unexpected kind %q", obj.Kind)
		}
	}
	for _, want := range []string{"cafe-node-initialize", "cafe-node-heartbeat", "cafe-pod-create", "cafe-container-start", "cafe-container-restart", "cafe-pod-readiness", "cafe-pod-delete"} {
		if !stages[want] {
			t.Errorf("stage %s missing", want)
		}
	}
}

func TestRenderRefusesBadOptions(t *testing.T) {
	if _, err := Render(Options{StartLatency: -time.Second, FallbackCIDR: "100.64.255.0/24"}); err == nil {
		t.Error("negative latency accepted")
	}
	if _, err := Render(Options{SandboxLatency: -time.Second, FallbackCIDR: "100.64.255.0/24"}); err == nil {
		t.Error("negative sandbox latency accepted")
	}
	if _, err := Render(Options{}); err == nil {
		t.Error("missing fallback CIDR accepted")
	}
}
