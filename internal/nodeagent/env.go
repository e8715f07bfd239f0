package nodeagent

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// containerEnv is the environment of a container's process: a minimal base,
// what the agent tells every process (its pod, address, unit and image tag),
// then the container's own variables, resolved like kubelet's downward API.
// Variables that need other objects (ConfigMaps, Secrets, resources) are
// refused with a message naming the variable: a live node reads no API
// objects besides its pods.
func containerEnv(pod *corev1.Pod, c *corev1.Container, podIP, hostIP, unit string, img resolvedImage) ([]string, error) {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/tmp",
		"POD_NAME=" + pod.Name,
		"POD_NAMESPACE=" + pod.Namespace,
		"POD_UID=" + string(pod.UID),
		"POD_IP=" + podIP,
		"NODE_NAME=" + pod.Spec.NodeName,
		"CAFE_UNIT=" + unit,
		"CAFE_IMAGE=" + c.Image,
		"CAFE_IMAGE_TAG=" + img.Tag,
		"CAFE_CONTAINER=" + c.Name,
	}
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %s: envFrom is not supported on live nodes (they read no ConfigMaps or Secrets); set env values instead", c.Name)
	}
	defined := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		defined[k] = v
	}
	for i, e := range c.Env {
		if e.ValueFrom == nil {
			v := expandVars(e.Value, defined)
			defined[e.Name] = v
			env = append(env, e.Name+"="+v)
			continue
		}
		if e.ValueFrom.FieldRef == nil {
			return nil, fmt.Errorf("container %s: env[%d] (%s): only value and valueFrom.fieldRef are supported on live nodes", c.Name, i, e.Name)
		}
		v, err := fieldValue(pod, e.ValueFrom.FieldRef.FieldPath, podIP, hostIP)
		if err != nil {
			return nil, fmt.Errorf("container %s: env[%d] (%s): %w", c.Name, i, e.Name, err)
		}
		defined[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env, nil
}

// containerArgs expands $(VAR) in the container's arguments, as kubelet does.
func containerArgs(c *corev1.Container, env []string) []string {
	defined := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		defined[k] = v
	}
	out := make([]string, len(c.Args))
	for i, a := range c.Args {
		out[i] = expandVars(a, defined)
	}
	return out
}

// expandVars replaces $(NAME) with the value of a variable defined before,
// as kubelet does: $$ escapes a dollar, and a reference to an undefined
// variable stays as written.
func expandVars(s string, defined map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := defined[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func fieldValue(pod *corev1.Pod, path, podIP, hostIP string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if key, ok := strings.CutPrefix(path, prefix+"['"); ok && strings.HasSuffix(key, "']") {
			return m[strings.TrimSuffix(key, "']")], nil
		}
	}
	return "", fmt.Errorf("fieldRef %q is not supported", path)
}
