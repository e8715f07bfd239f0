package testenv

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Descendants are the process IDs of every process below pid (children,
// their children, ...), found by walking parent IDs in /proc: what a process
// started, whatever process group its children put themselves in.
func Descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if parent, ok := parentPID(child); ok {
			children[parent] = append(children[parent], child)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range children[next] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	sort.Ints(out)
	return out
}

// CPUTime is the user and system CPU time pid has used so far, from
// /proc/<pid>/stat.
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is the first, utime the 12th, stime the 13th.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, fields[11], fields[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat times: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// parentPID reads the parent of pid from /proc/<pid>/stat.
func parentPID(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces and parentheses:
	// the fields after the last ')' are "state ppid ...".
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	fields := strings.Fields(rest)
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// Alive reports whether pid still runs. A zombie (ended, not yet reaped by
// its parent) counts as ended.
func Alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	fields := strings.Fields(rest)
	return len(fields) > 0 && fields[0] != "Z"
}

// ListeningPorts are the TCP ports pid listens on (IPv4 and IPv6), read
// from the sockets among its open files and the listen table of its
// network namespace.
func ListeningPorts(pid int) []int {
	inodes := socketInodes(pid)
	if len(inodes) == 0 {
		return nil
	}
	var ports []int
	for _, table := range []string{"tcp", "tcp6"} {
		for inode, port := range listenTable(fmt.Sprintf("/proc/%d/net/%s", pid, table)) {
			if inodes[inode] {
				ports = append(ports, port)
			}
		}
	}
	sort.Ints(ports)
	return ports
}

// ListenersOn are the socket inodes that listen on TCP port in this
// process's network namespace: none once whatever held the port released it.
func ListenersOn(port int) []string {
	var out []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for inode, p := range listenTable(table) {
			if p == port {
				out = append(out, inode)
			}
		}
	}
	return out
}

// socketInodes are the inodes of the sockets among pid's open files.
func socketInodes(pid int) map[string]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, _ := os.ReadDir(dir)
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	return inodes
}

// listenTable maps the inode of every listening socket in a /proc/net/tcp
// style table to its local port.
func listenTable(path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const listen = "0A"
	out := map[string]int{}
	lines := bufio.NewScanner(f)
	lines.Scan() // the header
	for lines.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fields := strings.Fields(lines.Text())
		if len(fields) < 10 || fields[3] != listen {
			continue
		}
		local := fields[1]
		port, err := strconv.ParseInt(local[strings.LastIndexByte(local, ':')+1:], 16, 32)
		if err != nil {
			continue
		}
		out[fields[9]] = int(port)
	}
	return out
}

// Footprint is what a group of processes holds on the host: the processes
// with everything they started, and the TCP ports they listen on.
type Footprint struct {
	// Processes maps each PID to a name: the given one, or else its
	// program's (e.g. "kube-apiserver").
	Processes map[int]string
	// Ports maps each listening port to the name of its process.
	Ports map[int]string
}

// RecordFootprint takes the footprint of the named processes (name → PID)
// and of their descendants, while they run.
func RecordFootprint(named map[string]int) Footprint {
	f := Footprint{Processes: map[int]string{}, Ports: map[int]string{}}
	for name, pid := range named {
		f.Processes[pid] = name
		for _, d := range Descendants(pid) {
			f.Processes[d] = programName(d)
		}
	}
	for pid, name := range f.Processes {
		for _, port := range ListeningPorts(pid) {
			f.Ports[port] = name
		}
	}
	return f
}

// programName is the base name of the program pid runs.
func programName(pid int) string {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return fmt.Sprintf("pid %d", pid)
	}
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	return filepath.Base(argv0)
}

// PortsOf are the ports the process called name listens on.
func (f Footprint) PortsOf(name string) []int {
	var ports []int
	for port, owner := range f.Ports {
		if owner == name {
			ports = append(ports, port)
		}
	}
	sort.Ints(ports)
	return ports
}

// Left describes what of the footprint is still there: processes that run
// and ports something listens on.
func (f Footprint) Left() []string {
	var left []string
	for pid, name := range f.Processes {
		if Alive(pid) {
			left = append(left, fmt.Sprintf("process %d (%s) still runs", pid, name))
		}
	}
	for port, name := range f.Ports {
		if inodes := ListenersOn(port); len(inodes) > 0 {
			left = append(left, fmt.Sprintf("port %d (%s) is still listened on (socket %v)", port, name, inodes))
		}
	}
	sort.Strings(left)
	return left
}
