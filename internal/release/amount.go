package release

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Amount is a number of pods, or a percentage of some total: the planner's
// copy of an intstr.IntOrString field that the API server has validated.
type Amount struct {
	Value   int32
	Percent bool
}

// Pods is an Amount of n pods.
func Pods(n int32) Amount { return Amount{Value: n} }

// Percent is an Amount of p percent.
func Percent(p int32) Amount { return Amount{Value: p, Percent: true} }

// ParseAmount reads an intstr.IntOrString such as 3 or "25%". A nil value
// yields fallback, so the shell can pass the API default for a field the API
// server has not defaulted (an object written before the default existed).
func ParseAmount(v *intstr.IntOrString, fallback Amount) (Amount, error) {
	if v == nil {
		return fallback, nil
	}
	if v.Type == intstr.Int {
		if v.IntVal < 0 {
			return Amount{}, fmt.Errorf("%d is negative", v.IntVal)
		}
		return Pods(v.IntVal), nil
	}
	digits, ok := strings.CutSuffix(v.StrVal, "%")
	if !ok {
		return Amount{}, fmt.Errorf("%q is neither a number nor a percentage", v.StrVal)
	}
	p, err := strconv.ParseInt(digits, 10, 32)
	if err != nil || p < 0 || p > 100 {
		return Amount{}, fmt.Errorf("%q is not a percentage from 0%% to 100%%", v.StrVal)
	}
	return Percent(int32(p)), nil
}

// of resolves the amount against total. Percentages round up when roundUp is
// set and down otherwise; a count is returned as it is.
func (a Amount) of(total int32, roundUp bool) int32 {
	if !a.Percent {
		return a.Value
	}
	scaled := int64(a.Value) * int64(total)
	if roundUp {
		scaled += 99
	}
	return int32(scaled / 100)
}

func (a Amount) String() string {
	if a.Percent {
		return fmt.Sprintf("%d%%", a.Value)
	}
	return strconv.Itoa(int(a.Value))
}
