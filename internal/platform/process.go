package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// process is one child of the platform (etcd, an API server, kwok, ...).
// It is only ever stopped by its own PID: never by name.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string

	done    chan struct{}
	mu      sync.Mutex
	exitErr error
}

// startProcess runs binary with args, its output appended to logDir/name.log.
// The child gets SIGKILL if the platform process dies without stopping it, so
// a crashed `cafe up` or test leaves no orphan behind.
func startProcess(name, binary string, args []string, logDir string, env []string) (*process, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, &MissingBinaryError{Binary: binary}
	}
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", name, err)
	}
	fmt.Fprintf(logFile, "\n=== %s: %s %v\n", time.Now().Format(time.RFC3339), binary, args)
	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a Ctrl-C in the terminal reaches only the
		// platform, which then stops its children in order.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.exitErr
	default:
		return false, nil
	}
}

// pid is the child's process ID.
func (p *process) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and, after grace, SIGKILL, to this child only.
func (p *process) stop(grace time.Duration) {
	if done, _ := p.exited(); done {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// kill ends the child at once, as a crash would.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// waitFor polls check until it succeeds, the child exits, or ctx ends.
func (p *process) waitFor(ctx context.Context, what string, check func(context.Context) error) error {
	var last error
	for {
		if err := check(ctx); err == nil {
			return nil
		} else {
			last = err
		}
		if done, err := p.exited(); done {
			return fmt.Errorf("%s exited while waiting for %s (%v); see %s", p.name, what, err, p.logPath)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: timed out waiting for %s: %v; see %s", p.name, what, errors.Join(ctx.Err(), last), p.logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// MissingBinaryError says which binary is missing and how to build it.
type MissingBinaryError struct{ Binary string }

func (e *MissingBinaryError) Error() string {
	return fmt.Sprintf("%s not found: build the local platform's binaries with `make tools` (hack/build-tools.sh)", e.Binary)
}
