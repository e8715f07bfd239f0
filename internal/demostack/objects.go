package demostack

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	trafficv1alpha1 "github.com/cafe-dev/cafe/api/traffic/v1alpha1"
	"github.com/cafe-dev/cafe/internal/nodeagent"
	"github.com/cafe-dev/cafe/internal/platform"
	"github.com/cafe-dev/cafe/internal/router/failover"
)

// Names of the demo's objects.
const (
	App      = "payments"
	ShardMap = "users"
	Shards   = 100
	// UserHeader carries the user ID; its last two digits are the shard.
	UserHeader = "X-Cafe-Uid"
	demoPort   = 8080
)

// objects are what the demo applies, in order: the Service, the ShardMap,
// the Route and the CafeDeployment.
func objects(o Options, etcdEndpoints []string, routers map[string]string) []client.Object {
	ns := o.Namespace
	labels := map[string]string{"app": App}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: App},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(demoPort)}},
		},
	}

	sm := &trafficv1alpha1.ShardMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ShardMap, Annotations: map[string]string{
			failover.AnnotationFailoverAfter: o.FailoverAfter.String(),
			failover.AnnotationFailbackAfter: o.FailbackAfter.String(),
		}},
		Spec: trafficv1alpha1.ShardMapSpec{
			Shards: Shards,
			Key:    trafficv1alpha1.ShardKey{Source: trafficv1alpha1.ShardKeyFromHeader, Name: UserHeader, Digits: &trafficv1alpha1.ShardKeyDigits{Count: 2}},
		},
	}
	for i, unit := range o.Units {
		from, to := shardRange(i, len(o.Units))
		sm.Spec.Units = append(sm.Spec.Units, trafficv1alpha1.ShardUnit{
			Name:          unit,
			Ranges:        []trafficv1alpha1.ShardRange{{From: from, To: to}},
			FailoverTo:    o.Units[(i+1)%len(o.Units)],
			RouterAddress: routers[unit],
		})
	}

	route := &trafficv1alpha1.Route{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: App},
		Spec: trafficv1alpha1.RouteSpec{
			Host: "*", PathPrefix: "/", ShardMap: ShardMap,
			Service: trafficv1alpha1.RouteService{Name: App, Port: 80},
			// The service answers in milliseconds; an attempt without
			// response headers after 2.5 s went to an endpoint that fell
			// silent (a cut unit), and a read is worth trying elsewhere
			// well before the client's 5 s deadline.
			Timeouts: &trafficv1alpha1.RouteTimeouts{
				Request:        &metav1.Duration{Duration: 4500 * time.Millisecond},
				ResponseHeader: &metav1.Duration{Duration: 2500 * time.Millisecond},
			},
			Retries: &trafficv1alpha1.RouteRetries{Attempts: 2},
		},
	}

	var units []appsv1alpha1.UnitSpec
	for _, u := range o.Units {
		units = append(units, appsv1alpha1.UnitSpec{Name: u})
	}
	batch := intstr.FromInt32(o.BatchSize)
	maxUnavailable := intstr.FromString("50%")
	cd := &appsv1alpha1.CafeDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: App, Annotations: map[string]string{appsv1alpha1.ChangeCauseAnnotation: "first release: " + o.Image}},
		Spec: appsv1alpha1.CafeDeploymentSpec{
			Replicas: &o.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Topology: appsv1alpha1.Topology{Units: units},
			Strategy: appsv1alpha1.CafeDeploymentStrategy{
				Type:                  appsv1alpha1.ReleaseBeta,
				BatchSize:             &batch,
				NeedConfirm:           true,
				MaxUnavailablePerUnit: &maxUnavailable,
				UpgradePolicy:         o.UpgradePolicy,
				TrafficHandoff:        appsv1alpha1.TrafficHandoff{DrainSeconds: ptr.To(o.DrainSeconds), MaxWaitSeconds: ptr.To[int32](60)},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpec(o, etcdEndpoints),
			},
		},
	}
	if o.Workload == PlainDeployments {
		return append([]client.Object{svc, sm, route}, deployments(o, etcdEndpoints)...)
	}
	return []client.Object{svc, sm, route, cd}
}

// deployments are the baseline: what a team does without CAFE, one plain
// Deployment per unit (pinned there, its pods labelled with the unit for the
// routers), released by Kubernetes' rolling update, with no traffic
// hand-off beyond what the service does itself on SIGTERM.
func deployments(o Options, etcdEndpoints []string) []client.Object {
	var out []client.Object
	for i, unit := range o.Units {
		replicas := o.Replicas / int32(len(o.Units))
		if int32(i) < o.Replicas%int32(len(o.Units)) {
			replicas++
		}
		labels := map[string]string{"app": App, platform.UnitLabel: unit}
		spec := podSpec(o, etcdEndpoints)
		spec.NodeSelector[platform.UnitLabel] = unit
		out = append(out, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: App + "-" + unit},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
			},
		})
	}
	return out
}

// podSpec runs the demo service on a live node; the variables the node
// agent sets (POD_IP, CAFE_IMAGE_TAG, ...) become its flags.
func podSpec(o Options, etcdEndpoints []string) corev1.PodSpec {
	grace := int64(15)
	return corev1.PodSpec{
		NodeSelector:                  map[string]string{nodeagent.LiveLabel: "true"},
		TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{
			Name:  "app",
			Image: o.Image,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: demoPort}},
			Env: []corev1.EnvVar{
				{Name: "CAFE_DEMO_LISTEN", Value: fmt.Sprintf("$(POD_IP):%d", demoPort)},
				{Name: "CAFE_DEMO_VERSION", Value: "$(CAFE_IMAGE_TAG)"},
				{Name: "CAFE_DEMO_UNIT", Value: "$(CAFE_UNIT)"},
				{Name: "CAFE_DEMO_POD", Value: "$(POD_NAME)"},
				{Name: "CAFE_DEMO_ETCD", Value: strings.Join(etcdEndpoints, ",")},
				{Name: "CAFE_DEMO_SHUTDOWN_DELAY", Value: "1s"},
			},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("http")}},
				PeriodSeconds:    1,
				FailureThreshold: 2,
			},
		}},
	}
}

// shardRange is unit i's share of the shards: contiguous and as even as
// can be, the first units taking one more when they do not divide.
func shardRange(i, units int) (from, to int32) {
	per, extra := Shards/units, Shards%units
	start := i*per + min(i, extra)
	size := per
	if i < extra {
		size++
	}
	return int32(start), int32(start + size - 1)
}

// UserOfShard is a user ID whose shard is shard (the loadgen's scheme: the
// last two digits).
func UserOfShard(shard int) string { return fmt.Sprintf("1000%02d", shard) }

// defaults of Options.
const (
	defaultReplicas      = 30
	defaultBatchSize     = 10
	defaultDrainSeconds  = 2
	defaultFailoverAfter = time.Second
	defaultFailbackAfter = 10 * time.Second
)
