package failover

import (
	"fmt"
	"time"
)

// Annotations on a ShardMap that override the controller's failover
// timings for that map.
const (
	AnnotationFailoverAfter = "traffic.cafe.dev/failover-after"
	AnnotationFailbackAfter = "traffic.cafe.dev/failback-after"
)

// PolicyFor returns defaults overridden by a shard map's annotations. An
// annotation that is not a positive Go duration is ignored and reported.
func PolicyFor(annotations map[string]string, defaults Policy) (Policy, []string) {
	p := defaults
	var problems []string
	for _, a := range []struct {
		name string
		into *time.Duration
	}{
		{AnnotationFailoverAfter, &p.FailoverAfter},
		{AnnotationFailbackAfter, &p.FailbackAfter},
	} {
		v, ok := annotations[a.name]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("annotation %s=%q is not a positive duration such as \"2s\"; using %v", a.name, v, *a.into))
			continue
		}
		*a.into = d
	}
	return p, problems
}
