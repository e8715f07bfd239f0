package release

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestParseAmount(t *testing.T) {
	ptr := func(v intstr.IntOrString) *intstr.IntOrString { return &v }
	cases := []struct {
		in      *intstr.IntOrString
		want    Amount
		wantErr bool
	}{
		{nil, Percent(25), false}, // the fallback
		{ptr(intstr.FromInt32(3)), Pods(3), false},
		{ptr(intstr.FromInt32(0)), Pods(0), false},
		{ptr(intstr.FromString("25%")), Percent(25), false},
		{ptr(intstr.FromString("100%")), Percent(100), false},
		{ptr(intstr.FromInt32(-1)), Amount{}, true},
		{ptr(intstr.FromString("101%")), Amount{}, true},
		{ptr(intstr.FromString("25")), Amount{}, true},
		{ptr(intstr.FromString("x%")), Amount{}, true},
	}
	for _, tc := range cases {
		got, err := ParseAmount(tc.in, Percent(25))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseAmount(%v) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestAmountOf(t *testing.T) {
	cases := []struct {
		a       Amount
		total   int32
		roundUp bool
		want    int32
	}{
		{Pods(7), 100, false, 7},
		{Percent(25), 30, false, 7},
		{Percent(25), 30, true, 8},
		{Percent(25), 28, true, 7},
		{Percent(100), 2_000_000_000, true, 2_000_000_000},
	}
	for _, tc := range cases {
		if got := tc.a.of(tc.total, tc.roundUp); got != tc.want {
			t.Errorf("%s of %d (round up %v) = %d, want %d", tc.a, tc.total, tc.roundUp, got, tc.want)
		}
	}
}
