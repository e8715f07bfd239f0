package nodeagent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// processSpec is one container's process.
type processSpec struct {
	// Netns is the network namespace to run in (under /var/run/netns);
	// empty runs in the agent's own.
	Netns   string
	Binary  string
	Args    []string
	Env     []string
	LogPath string
}

// process is a running container process. Its process group is signalled as
// a whole, so children it starts go with it.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	exit    exitRecord // valid once done is closed
}

// startProcess starts spec. The process dies with the agent (parent-death
// signal), as a container dies with its node.
func startProcess(spec processSpec) (*process, error) {
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	name, args := spec.Binary, spec.Args
	if spec.Netns != "" {
		// ip netns exec switches namespace and execs the binary, so the
		// process keeps ip's PID, process group and parent-death signal.
		name, args = "ip", append([]string{"netns", "exec", spec.Netns, spec.Binary}, spec.Args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = spec.Env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Binary, err)
	}
	p := &process{cmd: cmd, started: time.Now(), done: make(chan struct{})}
	go p.wait()
	return p, nil
}

func (p *process) wait() {
	err := p.cmd.Wait()
	p.exit = exitRecord{StartedAt: p.started, FinishedAt: time.Now(), Reason: "Completed"}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		ws, _ := exitErr.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			// A shell reports death by signal N as 128+N; so does kubelet.
			p.exit.Code = 128 + int32(ws.Signal())
			p.exit.Reason = "Error"
		default:
			p.exit.Code = int32(ws.ExitStatus())
			p.exit.Reason = "Error"
		}
	} else if err != nil {
		p.exit.Code, p.exit.Reason = 128, "Error"
	}
	close(p.done)
}

// PID is the container's process ID.
func (p *process) PID() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process as kubelet does: SIGTERM, then SIGKILL once grace
// has passed. It returns when the process is gone.
func (p *process) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
}
