// Package e2e drives the built phonelock binary as an operator and
// FreeSWITCH would: it starts "phonelock serve" on free loopback ports,
// places calls through the FreeSWITCH stand-in over TCP, runs "phonelock
// admin" commands, and scrapes /metrics.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/phonelock/phonelock/internal/fakefs"
)

// binary is the phonelock binary built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "phonelock-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "phonelock")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/phonelock")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build phonelock:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is one running "phonelock serve".
type daemon struct {
	t        *testing.T
	cmd      *exec.Cmd
	db       string
	token    string // the first admin token's file, which the daemon writes
	eslAddr  string
	httpAddr string
	log      *syncBuffer
	exited   chan struct{}
	exitErr  error
}

// syncBuffer collects the daemon's log while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var startedLine = regexp.MustCompile(`msg="phonelock started".* esl_addr=(\S+) http_addr=(\S+)`)

// startDaemon runs the daemon on db with free ports and waits until it
// logs its addresses. The test fails if it does not stop cleanly at the end.
func startDaemon(t *testing.T, db string, args ...string) *daemon {
	t.Helper()
	all := append([]string{"serve", "--db", db, "--esl-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"}, args...)
	d := &daemon{t: t, db: db, token: strings.TrimSuffix(db, ".db") + ".token",
		log: &syncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(binary, all...)
	d.cmd.Stderr = d.log
	d.cmd.Stdout = d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.exitErr = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() { d.stop() })

	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := startedLine.FindStringSubmatch(d.log.String()); m != nil {
			d.eslAddr, d.httpAddr = m[1], m[2]
			return d
		}
		select {
		case <-d.exited:
			t.Fatalf("daemon exited at start (%v):\n%s", d.exitErr, d.log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start:\n%s", d.log)
		}
	}
}

// stop sends SIGTERM and requires a clean exit with status 0.
func (d *daemon) stop() {
	d.t.Helper()
	select {
	case <-d.exited:
		return
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Errorf("signal daemon: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(40 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		d.t.Errorf("daemon did not exit after SIGTERM:\n%s", d.log)
		return
	}
	if d.exitErr != nil {
		d.t.Errorf("daemon exited with %v:\n%s", d.exitErr, d.log)
	}
	if strings.Contains(d.log.String(), "DATA RACE") {
		d.t.Errorf("race detected in the daemon:\n%s", d.log)
	}
}

// call places one call through the FreeSWITCH stand-in.
func (d *daemon) call(c fakefs.Call) *fakefs.Result {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := fakefs.Dial(ctx, d.eslAddr, c)
	if err != nil {
		d.t.Fatalf("call %+v: %v\ntranscript:\n%s\ndaemon log:\n%s", c, err, transcript(res), d.log)
	}
	return res
}

func transcript(res *fakefs.Result) string {
	if res == nil {
		return "(none)"
	}
	return string(res.Transcript)
}

// admin runs "phonelock admin --server URL args..." with stdin and the
// first admin token.
func (d *daemon) admin(stdin string, args ...string) (stdout, stderr string, code int) {
	return runAdmin(d.t, stdin, append([]string{"--server", "http://" + d.httpAddr, "--token-file", d.token}, args...)...)
}

// adminToken returns the secret of the first admin token.
func (d *daemon) adminToken() string {
	d.t.Helper()
	data, err := os.ReadFile(d.token)
	if err != nil {
		d.t.Fatalf("read the first admin token: %v", err)
	}
	return strings.TrimSpace(string(data))
}

// mustAdmin runs an admin command that must succeed.
func (d *daemon) mustAdmin(stdin string, args ...string) string {
	d.t.Helper()
	out, errOut, code := d.admin(stdin, args...)
	if code != 0 {
		d.t.Fatalf("admin %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// runAdmin runs "phonelock admin args..." and returns its output and exit code.
func runAdmin(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"admin"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	return runCommand(t, cmd)
}

// runCommand runs cmd and returns its output and exit code.
func runCommand(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// metric returns the value of one sample of /metrics, such as
// `phonelock_calls_total{outcome="allowed"}`, or 0 when it is absent (a
// counter not yet incremented).
func (d *daemon) metric(sample string) float64 {
	d.t.Helper()
	v, _ := d.metricSample(sample)
	return v
}

// metricSample returns one sample and whether /metrics has it.
func (d *daemon) metricSample(sample string) (float64, bool) {
	d.t.Helper()
	resp, err := http.Get("http://" + d.httpAddr + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == sample {
			var v float64
			fmt.Sscan(value, &v)
			return v, true
		}
	}
	return 0, false
}

// protect sets up ext with protection on, the password and voicemail.
func (d *daemon) protect(ext, password string, voicemail bool) {
	d.t.Helper()
	vm := "off"
	if voicemail {
		vm = "on"
	}
	d.mustAdmin(password+"\n", "ext", "set", ext, "--protection", "on", "--password-stdin", "--voicemail", vm)
}

// apps returns the names of the applications that ran, in order.
func apps(res *fakefs.Result) []string {
	var names []string
	for _, a := range res.Apps {
		names = append(names, a.Name)
	}
	return names
}

// commandNames returns the first lines of the commands the daemon sent.
func commandNames(res *fakefs.Result) []string {
	var names []string
	for _, c := range res.Commands {
		names = append(names, c.Name)
	}
	return names
}

func newDB(t *testing.T) string {
	return filepath.Join(t.TempDir(), "phonelock.db")
}

// equal compares string slices.
func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}
