package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childReadyTimeout bounds how long a built-in proxy child may take to print
// its listening address.
const childReadyTimeout = 15 * time.Second

// child is a built-in proxy run as `proxylab proxy …` in its own process
// group, so that its CPU time and memory are its own.
type child struct {
	name string
	cmd  *exec.Cmd
	addr string     // host:port it listens on, from its first line
	exit chan error // receives Wait's error once
	tail *tailBuffer

	once sync.Once
}

// startChild starts argv with env added, and waits for the line
// "… listening on http://ADDR" on its stdout.
func startChild(ctx context.Context, name string, argv, env []string) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tail := &tailBuffer{}
	cmd.Stderr = tail
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, strings.Join(argv, " "), err)
	}
	c := &child{name: name, cmd: cmd, exit: make(chan error, 1), tail: tail}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if _, a, ok := strings.Cut(line, "listening on http://"); ok && !sent {
				addrc <- strings.TrimSpace(a)
				sent = true
				continue
			}
			_, _ = tail.Write([]byte(line + "\n"))
		}
		_, _ = io.Copy(io.Discard, stdout)
		c.exit <- cmd.Wait()
	}()
	timer := time.NewTimer(childReadyTimeout)
	defer timer.Stop()
	select {
	case c.addr = <-addrc:
		return c, nil
	case err := <-c.exit:
		c.exit <- err
		return nil, fmt.Errorf("%s exited before it listened: %v%s", name, err, tail.suffix())
	case <-timer.C:
		_ = c.stop(context.Background())
		return nil, fmt.Errorf("%s did not listen within %s%s", name, childReadyTimeout, tail.suffix())
	case <-ctx.Done():
		_ = c.stop(context.Background())
		return nil, fmt.Errorf("start %s: %w", name, ctx.Err())
	}
}

// pid is the child's process id (taskset execs the proxy in place).
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM to the child's group, then SIGKILL after 5 s or when ctx
// is done. It is idempotent.
func (c *child) stop(ctx context.Context) error {
	var err error
	c.once.Do(func() {
		_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
		select {
		case <-c.exit:
			return
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
		}
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.exit
		err = fmt.Errorf("%s did not stop on SIGTERM; killed", c.name)
	})
	return err
}

// tailBuffer keeps the last few KiB a process wrote, for error messages.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailKeep = 2048

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailKeep {
		t.b = append([]byte(nil), t.b[len(t.b)-tailKeep:]...)
	}
	return len(p), nil
}

// suffix is "; its output ends: …" or "" when it wrote nothing.
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	if len(s) > 600 {
		s = s[len(s)-600:]
	}
	return "; its output ends: " + s
}

// errNoProxylab says where to get the binary that runs the built-in proxies.
var errNoProxylab = errors.New("the proxylab binary that runs the built-in proxies was not found (build it with `make build`, or set Config.Proxylab)")
