package podset

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestResolveMaxUnavailable(t *testing.T) {
	count := func(n int) *intstr.IntOrString { v := intstr.FromInt32(int32(n)); return &v }
	percent := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	cases := []struct {
		name     string
		value    *intstr.IntOrString
		replicas int
		want     int
		wantErr  bool
	}{
		{"unset means the default of one", nil, 10, 1, false},
		{"a count is taken as is", count(3), 10, 3, false},
		{"a count may exceed replicas", count(5), 2, 5, false},
		{"a percentage rounds down", percent("25%"), 10, 2, false},
		{"a percentage never goes below one", percent("10%"), 3, 1, false},
		{"all of them", percent("100%"), 7, 7, false},
		{"a zero count still allows one", count(0), 4, 1, false},
		{"not a percentage", percent("half"), 4, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ResolveMaxUnavailable(c.value, c.replicas)
			if (err != nil) != c.wantErr || got != c.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, c.want, c.wantErr)
			}
		})
	}
}
