package cli

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestChooseRollback(t *testing.T) {
	revs := []appsv1.ControllerRevision{
		fixtureRevision(t, "pay-a", 1, "pay:v1", ""),
		fixtureRevision(t, "pay-b", 3, "pay:v2", ""),
		fixtureRevision(t, "pay-c", 4, "pay:v3", ""),
	}
	cases := []struct {
		name, current string
		to            int64
		want          string
		wantErr       string
	}{
		{name: "previous of the newest", current: "pay-c", want: "pay-b"},
		{name: "previous skips pruned numbers", current: "pay-b", want: "pay-a"},
		{name: "a template without a revision yet counts as newest", current: "pay-new", want: "pay-c"},
		{name: "by number", current: "pay-c", to: 1, want: "pay-a"},
		{name: "forward by number", current: "pay-a", to: 4, want: "pay-c"},
		{name: "nothing before the oldest", current: "pay-a", wantErr: "pay has no revision before 1 to roll back to (kubectl cafe history pay lists the kept revisions)"},
		{name: "unknown number", current: "pay-c", to: 2, wantErr: "pay has no revision 2; the kept revisions are 1, 3, 4 (kubectl cafe history pay)"},
		{name: "the current one", current: "pay-c", to: 4, wantErr: "revision 4 is pay's current template already"},
	}
	for _, c := range cases {
		got, err := chooseRollback("pay", revs, c.current, c.to)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case got.Name != c.want:
			t.Errorf("%s: chose %s, want %s", c.name, got.Name, c.want)
		}
	}
}
