package nodeagent

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// containerState is what the agent knows of one container of a pod.
type containerState struct {
	Name    string
	Image   string // the image the running process was started from
	ImageID string
	// ContainerID names the process (cafe://<pid>).
	ContainerID  string
	Running      bool
	StartedAt    time.Time
	Ready        bool // its readiness probe passes (or it has none)
	RestartCount int32
	// LastExit is how the previous process of this container ended.
	LastExit *exitRecord
	// Terminated is set when the container ended and will not run again
	// (restartPolicy Never, or OnFailure after a success).
	Terminated *exitRecord
	// Waiting explains why the container is not running (CrashLoopBackOff,
	// ImageNotMapped...).
	Waiting, WaitingMessage string
}

type exitRecord struct {
	Code       int32
	Reason     string // Completed, Error, OOMKilled...
	StartedAt  time.Time
	FinishedAt time.Time
}

// podStatus computes the status the agent reports for a pod by kubelet's
// rules: ContainersReady when every container runs and passes its readiness
// probe; Ready when, in addition, every readiness gate condition on the pod
// is True. Conditions the agent does not own (the gates, PodScheduled) are
// left to their owners: the caller patches only what this returns.
func podStatus(pod *corev1.Pod, podIP, hostIP string, containers []containerState, now time.Time) corev1.PodStatus {
	allRunning, allReady := len(containers) > 0, len(containers) > 0
	var statuses []corev1.ContainerStatus
	for _, c := range containers {
		allRunning = allRunning && c.Running
		allReady = allReady && c.Running && c.Ready
		statuses = append(statuses, containerStatus(c))
	}
	gatesTrue := true
	for _, g := range pod.Spec.ReadinessGates {
		if !conditionTrue(pod, g.ConditionType) {
			gatesTrue = false
		}
	}
	phase := corev1.PodPending
	if allRunning {
		phase = corev1.PodRunning
	}
	status := corev1.PodStatus{
		Phase:             phase,
		HostIP:            hostIP,
		HostIPs:           []corev1.HostIP{{IP: hostIP}},
		PodIP:             podIP,
		PodIPs:            []corev1.PodIP{{IP: podIP}},
		ContainerStatuses: statuses,
		QOSClass:          pod.Status.QOSClass,
	}
	if pod.Status.StartTime != nil {
		status.StartTime = pod.Status.StartTime
	} else {
		status.StartTime = &metav1.Time{Time: now}
	}
	status.Conditions = []corev1.PodCondition{
		condition(pod, corev1.PodReadyToStartContainers, true, "", now),
		condition(pod, corev1.PodInitialized, true, "", now),
		condition(pod, corev1.ContainersReady, allReady, reasonIf(!allReady, "ContainersNotReady"), now),
		condition(pod, corev1.PodReady, allReady && gatesTrue, readyReason(allReady, gatesTrue), now),
	}
	return status
}

func containerStatus(c containerState) corev1.ContainerStatus {
	s := corev1.ContainerStatus{
		Name:         c.Name,
		Image:        c.Image,
		ImageID:      c.ImageID,
		ContainerID:  c.ContainerID,
		Ready:        c.Running && c.Ready,
		RestartCount: c.RestartCount,
		Started:      &c.Running,
	}
	switch {
	case c.Running:
		s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.StartedAt)}
	case c.Terminated != nil:
		s.State.Terminated = terminated(c.Terminated)
	default:
		reason := c.Waiting
		if reason == "" {
			reason = "ContainerCreating"
		}
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: c.WaitingMessage}
	}
	if c.LastExit != nil {
		s.LastTerminationState.Terminated = terminated(c.LastExit)
	}
	return s
}

func terminated(e *exitRecord) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode:   e.Code,
		Reason:     e.Reason,
		StartedAt:  metav1.NewTime(e.StartedAt),
		FinishedAt: metav1.NewTime(e.FinishedAt),
	}
}

// fingerprint summarises the status fields the agent owns, to decide
// whether a write is needed. Times are left out on purpose: they change
// only together with a field listed here, and comparing them would depend
// on the API's second-precision timestamps.
func fingerprint(s corev1.PodStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|", s.Phase, s.PodIP, s.HostIP)
	for _, c := range s.ContainerStatuses {
		state := "waiting"
		switch {
		case c.State.Running != nil:
			state = "running"
		case c.State.Terminated != nil:
			state = fmt.Sprintf("terminated:%d", c.State.Terminated.ExitCode)
		case c.State.Waiting != nil:
			state = "waiting:" + c.State.Waiting.Reason
		}
		last := ""
		if t := c.LastTerminationState.Terminated; t != nil {
			last = fmt.Sprintf("%d", t.ExitCode)
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%v,%d,%s,%s|", c.Name, c.Image, c.ImageID, c.ContainerID, c.Ready, c.RestartCount, state, last)
	}
	var owned []string // in any order: a merge patch keeps the list's order
	for _, c := range s.Conditions {
		switch c.Type {
		case corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady:
			owned = append(owned, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
		}
	}
	sort.Strings(owned)
	b.WriteString(strings.Join(owned, "|"))
	return b.String()
}

// condition keeps a condition's lastTransitionTime while its status stays.
func condition(pod *corev1.Pod, t corev1.PodConditionType, ok bool, reason string, now time.Time) corev1.PodCondition {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	c := corev1.PodCondition{Type: t, Status: status, Reason: reason, LastTransitionTime: metav1.NewTime(now)}
	for _, old := range pod.Status.Conditions {
		if old.Type == t && old.Status == status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	return c
}

func conditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func readyReason(containersReady, gatesTrue bool) string {
	switch {
	case !containersReady:
		return "ContainersNotReady"
	case !gatesTrue:
		return "ReadinessGatesNotReady"
	}
	return ""
}

func reasonIf(cond bool, reason string) string {
	if cond {
		return reason
	}
	return ""
}

// newerOrSame compares resource versions, which etcd makes increasing
// integers; anything unparsable counts as newer, so the agent rewrites
// rather than trusts an object it cannot order.
func newerOrSame(rv, than string) bool {
	a, errA := strconv.ParseUint(rv, 10, 64)
	b, errB := strconv.ParseUint(than, 10, 64)
	if errA != nil || errB != nil {
		return true
	}
	return a >= b
}
