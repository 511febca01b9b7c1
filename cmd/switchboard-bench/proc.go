package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// proc is a server process the benchmark started: Switchboard or the relay.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it serves on
	pid  int
	done chan struct{}
	log  *os.File
}

// startProc starts path with args, pinned to cpu (-1: not pinned), and
// waits until it prints the URL it serves on.
func startProc(name, path string, args, env []string, cpu int, logPath string) (*proc, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := startPinned(cmd, cpu); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), log: logf}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "http://"); i >= 0 {
				select {
				case urlc <- strings.Fields(line[i:])[0]:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case u := <-urlc:
		p.addr = strings.TrimPrefix(u, "http://")
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before serving; see %s", name, logPath)
	case <-time.After(60 * time.Second):
		p.kill()
		return nil, fmt.Errorf("%s did not start within 60s; see %s", name, logPath)
	}
}

// stop asks the process to stop and waits, killing it after 15s.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
	}
	p.log.Close()
}

// kill ends the process at once (kill -9) and waits for it.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// usage is a process's CPU time so far and resident memory.
type usage struct {
	cpu time.Duration
	rss int64 // bytes
}

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 100

func (p *proc) usage() usage { return usageOf(strconv.Itoa(p.pid)) }

// selfUsage is the benchmark's own usage.
func selfUsage() usage { return usageOf("self") }

func usageOf(pid string) usage {
	var u usage
	if b, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil {
		// Fields after the command name, which is in parentheses.
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 13 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				u.cpu = time.Duration(ut+st) * time.Second / clockTick
			}
		}
	}
	if b, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				u.rss = kb << 10
			}
		}
	}
	return u
}

// setAffinity pins thread tid (0: the calling thread) to cpu.
func setAffinity(tid, cpu int) error {
	var mask [16]uint64
	mask[cpu/64] |= 1 << (cpu % 64)
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
	if e != 0 {
		return e
	}
	return nil
}

// pinSelf pins every thread of this process to cpu; threads started later
// inherit it.
func pinSelf(cpu int) error {
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, _ := strconv.Atoi(filepath.Base(t))
		if err := setAffinity(tid, cpu); err != nil {
			return err
		}
	}
	return nil
}

// loadCPU is the core of the benchmark itself (-1: not pinned).
var loadCPU = -1

// startPinned starts cmd from a thread pinned to cpu, so that the child and
// all its threads inherit that core, then moves the thread back.
func startPinned(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := setAffinity(0, cpu); err != nil {
		return err
	}
	err := cmd.Start()
	if loadCPU >= 0 {
		setAffinity(0, loadCPU)
	} else {
		var all [16]uint64
		for i := range runtime.NumCPU() {
			all[i/64] |= 1 << (i % 64)
		}
		syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(all), uintptr(unsafe.Pointer(&all)))
	}
	return err
}

// raiseFileLimit raises RLIMIT_NOFILE to its hard limit (or to nr_open as
// root); child processes inherit it.
func raiseFileLimit() uint64 {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > lim.Max {
			want := syscall.Rlimit{Cur: n, Max: n}
			if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
				return n
			}
		}
	}
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}
