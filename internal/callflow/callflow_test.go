package callflow

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/phonelock/phonelock/esl"
	"github.com/phonelock/phonelock/internal/fakefs"
	"github.com/phonelock/phonelock/internal/metrics"
	"github.com/phonelock/phonelock/store"
)

// brokenStore fails every read, like a database whose file went bad.
type brokenStore struct{ Store }

var errDisk = errors.New("input/output error")

func (brokenStore) GetPair(string, string) (store.Extension, store.Extension, bool, bool, error) {
	return store.Extension{}, store.Extension{}, false, false, errDisk
}

func (brokenStore) Get(string) (store.Extension, error) { return store.Extension{}, errDisk }

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness runs Flows behind a real esl.Server on loopback.
type harness struct {
	addr    string
	metrics *metrics.Metrics
	log     *lockedBuffer
}

func newHarness(t *testing.T, st Store, cfg Config) *harness {
	t.Helper()
	h := &harness{metrics: metrics.New(prometheus.NewRegistry(), "test"), log: &lockedBuffer{}}
	log := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	flows := New(st, log, h.metrics, func() *Config { return &cfg })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &esl.Server{Handler: flows.Handle, Log: log, ReplyTimeout: 2 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	h.addr = ln.Addr().String()
	return h
}

func (h *harness) call(t *testing.T, c fakefs.Call) *fakefs.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := fakefs.Dial(ctx, h.addr, c)
	if err != nil {
		t.Fatalf("call: %v\n%s", err, res.Transcript)
	}
	return res
}

// TestFlows_storeFailure: when the store cannot be read, calls go through
// (fail open) or are refused (fail closed), emergency calls always go
// through, and each such call is logged at Error and counted.
func TestFlows_storeFailure(t *testing.T) {
	call := fakefs.Call{UserName: "1001", Destination: "1002"}

	open := newHarness(t, brokenStore{}, DefaultConfig())
	if res := open.call(t, call); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("fail open: outcome %v, want continued", res.Outcome)
	}
	if got := testutil.ToFloat64(open.metrics.Calls.WithLabelValues(metrics.OutcomeFailOpen)); got != 1 {
		t.Errorf("fail_open calls = %v, want 1", got)
	}
	if got := testutil.ToFloat64(open.metrics.StoreErrors.WithLabelValues("get_pair")); got != 1 {
		t.Errorf("store errors = %v, want 1", got)
	}
	if !strings.Contains(open.log.String(), "level=ERROR") {
		t.Errorf("store failure not logged at Error:\n%s", open.log)
	}

	cfg := DefaultConfig()
	cfg.FailClosed = true
	closed := newHarness(t, brokenStore{}, cfg)
	if res := closed.call(t, call); res.HangupCause != "SERVICE_UNAVAILABLE" {
		t.Errorf("fail closed: cause %q, want SERVICE_UNAVAILABLE", res.HangupCause)
	}
	emergency := fakefs.Call{UserName: "1001", Destination: "112"}
	if res := closed.call(t, emergency); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("fail closed, emergency: outcome %v, want continued", res.Outcome)
	}
	if got := testutil.ToFloat64(closed.metrics.Calls.WithLabelValues(metrics.OutcomeFailClosed)); got != 1 {
		t.Errorf("fail_closed calls = %v, want 1", got)
	}
}

// TestFlows_noPasswordInLogs runs dialogs at debug level and checks the
// password shows up nowhere in what the daemon logged.
func TestFlows_noPasswordInLogs(t *testing.T) {
	st := openStore(t)
	hash, err := store.HashPassword("908172")
	if err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := st.Set("1001@127.0.0.1", store.Settings{Protection: &on, PasswordHash: hash}, store.Actor{Name: "t", Source: "cli"}); err != nil {
		t.Fatal(err)
	}

	h := newHarness(t, st, DefaultConfig())
	right := h.call(t, fakefs.Call{UserName: "1001", Destination: "*11", Entries: []string{"908172#"}})
	wrong := h.call(t, fakefs.Call{UserName: "1001", Destination: "*11", Entries: []string{"908173#", "9081#"}})

	// FreeSWITCH logs the input it tests against a regexp: none is sent.
	for _, res := range []*fakefs.Result{right, wrong} {
		for _, app := range res.Apps {
			if app.Name == "play_and_get_digits" && len(strings.Fields(app.Arg)) != 8 {
				t.Errorf("play_and_get_digits %q: want 8 arguments, no regexp", app.Arg)
			}
		}
		if v := res.FinalVars["digits_dialed"]; strings.Contains(v, "9081") {
			t.Errorf("CDR digits_dialed = %q", v)
		}
	}

	if strings.Contains(h.log.String(), "9081") {
		t.Errorf("password digits in the log:\n%s", h.log)
	}
	if !strings.Contains(h.log.String(), "esl command") {
		t.Errorf("debug log missing, the check above proves nothing:\n%s", h.log)
	}
	records, err := st.Audit("1001@127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if strings.Contains(r.Detail+r.Addr+r.Result+r.Action, "9081") {
			t.Errorf("password digits in audit record %+v", r)
		}
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "phonelock.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // part of the error; "" for none
	}{
		{"default", func(*Config) {}, ""},
		{"empty feature code", func(c *Config) { c.FeatureCode = "" }, "feature code"},
		{"emergency equals feature code", func(c *Config) { c.Emergency = []string{"*11"} }, "emergency number"},
		{"zero failures", func(c *Config) { c.Lockout.MaxFailures = 0 }, "lockout failures"},
		{"bad cause", func(c *Config) { c.IncomingCause = "busy please" }, "incoming hangup cause"},
		{"prompt with space", func(c *Config) { c.Prompts.EnterPassword = "a b.wav" }, "enter-password"},
		{"voicemail app with space", func(c *Config) { c.VoicemailApp = "voice mail" }, "voicemail application"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.change(&cfg)
		err := cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one naming %q", tt.name, err, tt.want)
		}
	}
}
