package release

import (
	"reflect"
	"testing"
	"time"
)

func TestBatchEventsAnnounceWhatTheRecordLacks(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	beta := BatchRecord{Batch: 0, Target: 3, StartedAt: t0}
	betaDone := beta
	betaDone.CompletedAt = t0.Add(time.Minute)
	first := BatchRecord{Batch: 1, Target: 13, StartedAt: t0.Add(2 * time.Minute), ConfirmedBy: "bob"}
	firstDone := first
	firstDone.CompletedAt = t0.Add(3 * time.Minute)
	// The status keeps seconds; the planner's clock has more.
	firstPrecise := first
	firstPrecise.StartedAt = first.StartedAt.Add(400 * time.Millisecond)
	// A later release to the same revision (a rollback) starts batch 1 again.
	again := BatchRecord{Batch: 1, Target: 13, StartedAt: t0.Add(time.Hour)}

	for _, c := range []struct {
		name               string
		announced, batches []BatchRecord
		want               []string
	}{
		{"nothing yet", nil, nil, nil},
		{"Beta starts", nil, []BatchRecord{beta}, []string{"batch 0 started: 3 pods at revision v2 when complete"}},
		{"Beta already announced", []BatchRecord{beta}, []BatchRecord{beta}, nil},
		{"Beta completes", []BatchRecord{beta}, []BatchRecord{betaDone}, []string{"batch 0 completed: 3 pods at revision v2"}},
		{"the next batch starts, approved", []BatchRecord{betaDone}, []BatchRecord{betaDone, first},
			[]string{"batch 1 started: 13 pods at revision v2 when complete, approved by bob"}},
		{"a batch started and completed between two records", []BatchRecord{betaDone}, []BatchRecord{betaDone, firstDone},
			[]string{"batch 1 started: 13 pods at revision v2 when complete, approved by bob", "batch 1 completed: 13 pods at revision v2"}},
		{"killed before anything was recorded", nil, []BatchRecord{betaDone, firstDone}, []string{
			"batch 0 started: 3 pods at revision v2 when complete", "batch 0 completed: 3 pods at revision v2",
			"batch 1 started: 13 pods at revision v2 when complete, approved by bob", "batch 1 completed: 13 pods at revision v2"}},
		{"the same second is the same batch", []BatchRecord{betaDone, first}, []BatchRecord{betaDone, firstPrecise}, nil},
		{"a new release to the same revision", []BatchRecord{betaDone, firstDone}, []BatchRecord{again},
			[]string{"batch 1 started: 13 pods at revision v2 when complete"}},
		{"a batch not started is not announced", nil, []BatchRecord{{Batch: 2, Target: 20}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, ev := range BatchEvents("v2", c.announced, c.batches) {
				if ev.Type != EventNormal || ev.Key == "" {
					t.Errorf("event %+v: want a Normal event with a key", ev)
				}
				got = append(got, ev.Message)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("announced %q, want %q", got, c.want)
			}
		})
	}
}

func TestBatchEventKeysNameTheFact(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	b := BatchRecord{Batch: 1, Target: 10, StartedAt: t0}
	key := func(revision string, b BatchRecord, reason string) string { return keyed(revision, b, reason, "").Key }
	base := key("v2", b, ReasonBatchStarted)
	precise := b
	precise.StartedAt = t0.Add(999 * time.Millisecond)
	if key("v2", precise, ReasonBatchStarted) != base {
		t.Error("the key changes within the second the status keeps")
	}
	confirmed := b
	confirmed.ConfirmedBy, confirmed.CompletedAt = "alice", t0.Add(time.Minute)
	if key("v2", confirmed, ReasonBatchStarted) != base {
		t.Error("the key of a start depends on what happened after it")
	}
	later, other := b, b
	later.StartedAt = t0.Add(time.Second)
	other.Batch = 2
	for what, k := range map[string]string{
		"another revision": key("v3", b, ReasonBatchStarted),
		"another start":    key("v2", later, ReasonBatchStarted),
		"another batch":    key("v2", other, ReasonBatchStarted),
		"another reason":   key("v2", b, ReasonBatchCompleted),
	} {
		if k == base {
			t.Errorf("%s has the same key", what)
		}
	}
}
