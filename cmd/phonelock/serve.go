package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/phonelock/phonelock/esl"
	"github.com/phonelock/phonelock/internal/adminapi"
	"github.com/phonelock/phonelock/internal/callflow"
	"github.com/phonelock/phonelock/internal/metrics"
	"github.com/phonelock/phonelock/store"
)

// runServe runs the daemon until SIGTERM or SIGINT, then drains calls in
// progress and exits 0. SIGHUP reloads the configuration.
func runServe(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, _, err := loadServeConfig("phonelock serve", args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "phonelock serve: %v\n", err)
		return exitUsage
	}
	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	log := newLogger(stderr, cfg.LogFormat, level)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	reload := func() (*serveConfig, error) {
		c, _, err := loadServeConfig("phonelock serve", args, getenv, io.Discard)
		return c, err
	}
	if err := serve(ctx, cfg, log, level, hup, reload); err != nil {
		log.Error("phonelock stopped", "error", err)
		return exitFailed
	}
	return exitOK
}

func newLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// daemon is the running daemon's parts.
type daemon struct {
	log     *slog.Logger
	level   *slog.LevelVar
	store   *store.Store
	metrics *metrics.Metrics
	esl     *esl.Server
	http    *http.Server

	mu    sync.Mutex   // guards cfg
	cfg   *serveConfig // as running: reloads replace what they may
	calls atomic.Pointer[callflow.Config]

	eslServing atomic.Bool
}

// serve opens the store and the listeners, serves until ctx is done, then
// shuts down in order: stop taking calls, drain, stop HTTP, close the store.
func serve(ctx context.Context, cfg *serveConfig, log *slog.Logger, level *slog.LevelVar,
	hup <-chan os.Signal, reload func() (*serveConfig, error)) error {
	// Listeners first: a daemon that cannot serve must not create a
	// database file where it was started.
	eslLn, err := net.Listen("tcp", cfg.ESLListen)
	if err != nil {
		return fmt.Errorf("listen for esl: %w", err)
	}
	defer eslLn.Close()
	httpLn, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("listen for http: %w", err)
	}
	defer httpLn.Close()
	warnIfExposed(log, eslLn.Addr(), httpLn.Addr())

	st, err := store.Open(cfg.DB, store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("database %s is held by another process: is another phonelock serve running on it?", cfg.DB)
	}
	if err != nil {
		return err
	}
	defer st.Close()

	if err := firstToken(st, cfg.tokenFile(), log); err != nil {
		return err
	}
	d := newDaemon(cfg, log, level, st)
	d.expireBlocks() // blocks whose time ran out while the daemon was down
	housekeeping := d.startHousekeeping()
	defer housekeeping()
	errc := make(chan error, 2)
	d.eslServing.Store(true)
	go func() {
		errc <- d.esl.Serve(eslLn)
		d.eslServing.Store(false)
	}()
	go func() { errc <- d.http.Serve(httpLn) }()
	log.Info("phonelock started", "version", version, "db", cfg.DB,
		"esl_addr", eslLn.Addr().String(), "http_addr", httpLn.Addr().String())

	for {
		select {
		case <-hup:
			d.reload(reload)
			continue
		case <-ctx.Done():
			return d.shutdown()
		case err := <-errc:
			return errors.Join(fmt.Errorf("listener failed: %w", err), d.shutdown())
		}
	}
}

// warnIfExposed logs a warning for each listener outside loopback: the
// event socket trusts whoever reaches it, and the admin API's tokens
// travel in clear over plain HTTP.
func warnIfExposed(log *slog.Logger, esl, http net.Addr) {
	exposed := func(a net.Addr) bool {
		tcp, ok := a.(*net.TCPAddr)
		return ok && !tcp.IP.IsLoopback()
	}
	if exposed(esl) {
		log.Warn("event socket listening beyond loopback: whoever reaches it can pose as FreeSWITCH, try *11 passwords and learn block states", "addr", esl.String())
	}
	if exposed(http) {
		log.Warn("admin API listening beyond loopback: it is plain HTTP, so tokens travel in clear; put a TLS proxy in front", "addr", http.String())
	}
}

func newDaemon(cfg *serveConfig, log *slog.Logger, level *slog.LevelVar, st *store.Store) *daemon {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, version)
	d := &daemon{log: log, level: level, store: st, metrics: m, cfg: cfg}
	d.calls.Store(&cfg.Calls)
	m.RegisterExtensions(reg, d.countExtensions)

	flows := callflow.New(st, log, m, d.calls.Load)
	d.esl = &esl.Server{
		Handler:        flows.Handle,
		Log:            log,
		SessionStarted: m.Sessions.Inc,
		SessionEnded:   m.Sessions.Dec,
	}

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", d.ready)
	svc := adminapi.NewService(st, store.Actor{Name: "api", Source: "api"}).WithObserver(m.ObserveStore).
		WithLockout(func() store.AttemptPolicy { return d.calls.Load().Lockout })
	adminapi.Register(mux, svc, log, m)
	d.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return d
}

// ready answers 200 when the store can be read and the event socket
// listener accepts calls, and 503 with the reason otherwise.
func (d *daemon) ready(w http.ResponseWriter, _ *http.Request) {
	switch err := d.store.Ping(); {
	case err != nil:
		http.Error(w, "not ready: store: "+err.Error(), http.StatusServiceUnavailable)
	case !d.eslServing.Load():
		http.Error(w, "not ready: event socket listener is closed", http.StatusServiceUnavailable)
	default:
		fmt.Fprintln(w, "ready")
	}
}

func (d *daemon) countExtensions() (map[string]int, error) {
	st, err := d.store.Stats(time.Now())
	if err != nil {
		return nil, err
	}
	return map[string]int{
		"blocked":      st.Blocked,
		"unrestricted": st.Unrestricted,
		"unprotected":  st.Unprotected,
		"locked_out":   st.LockedOut,
	}, nil
}

// timerActor is who ends timed blocks and prunes the audit trail.
var timerActor = store.Actor{Name: "phonelock", Source: "daemon"}

// startHousekeeping ends timed blocks every 30 s and prunes old audit
// records every hour, until the returned function is called (which waits
// for the goroutine to stop).
func (d *daemon) startHousekeeping() (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		blocks := time.NewTicker(30 * time.Second)
		defer blocks.Stop()
		prune := time.NewTicker(time.Hour)
		defer prune.Stop()
		d.pruneAudit()
		for {
			select {
			case <-done:
				return
			case <-blocks.C:
				d.expireBlocks()
			case <-prune.C:
				d.pruneAudit()
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

func (d *daemon) expireBlocks() {
	start := time.Now()
	n, err := d.store.ExpireBlocks(start, timerActor)
	d.metrics.ObserveStore("expire_blocks", start, err)
	switch {
	case err != nil:
		d.log.Error("ending timed blocks failed", "error", err)
	case n > 0:
		d.log.Info("timed blocks ended", "extensions", n)
	}
}

// pruneAudit deletes audit records past the retention in batches of 500,
// so a call never waits long on the write lock.
func (d *daemon) pruneAudit() {
	d.mu.Lock()
	retention := d.cfg.AuditRetention
	d.mu.Unlock()

	start := time.Now()
	n, err := d.store.PruneAudit(start.Add(-retention), 500)
	d.metrics.ObserveStore("prune_audit", start, err)
	switch {
	case err != nil:
		d.log.Error("pruning the audit trail failed", "error", err)
	case n > 0:
		d.log.Info("audit records pruned", "records", n, "older_than", start.Add(-retention).UTC())
	}
}

// reload reads the configuration again and applies what can change
// without a restart. A configuration that does not load or validate is
// refused whole: the running one stays.
func (d *daemon) reload(load func() (*serveConfig, error)) {
	next, err := load()
	if err != nil {
		d.log.Error("configuration reload failed; keeping the running configuration", "error", err)
		return
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	applied, needRestart := diffSettings(d.cfg, next)
	if len(applied) > 0 {
		cfg := *d.cfg
		cfg.LogLevel, cfg.DrainTimeout, cfg.Calls = next.LogLevel, next.DrainTimeout, next.Calls
		cfg.AuditRetention = next.AuditRetention
		d.cfg = &cfg
		d.calls.Store(&cfg.Calls)
		d.level.Set(cfg.LogLevel)
	}
	d.log.Info("configuration reloaded", "changed", applied)
	if len(needRestart) > 0 {
		d.log.Warn("configuration changes that need a restart were not applied", "settings", needRestart)
	}
}

// diffSettings names the settings that differ between old and next, split
// into those a reload applies and those that need a restart.
func diffSettings(old, next *serveConfig) (applied, needRestart []string) {
	before, after := old.values(), next.values()
	for _, s := range settings {
		if before[s.name] == after[s.name] {
			continue
		}
		if s.reload {
			applied = append(applied, s.name)
		} else {
			needRestart = append(needRestart, s.name)
		}
	}
	sort.Strings(applied)
	sort.Strings(needRestart)
	return applied, needRestart
}

// shutdown stops taking calls at once, lets calls in progress finish within
// the drain timeout, then stops the HTTP listener.
func (d *daemon) shutdown() error {
	d.mu.Lock()
	drain := d.cfg.DrainTimeout
	d.mu.Unlock()
	d.log.Info("phonelock shutting down", "drain_timeout", drain)

	drainCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := d.esl.Shutdown(drainCtx); err != nil {
		d.log.Warn("drain deadline passed; calls still in progress were ended", "error", err)
	}

	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelHTTP()
	var errs []error
	if err := d.http.Shutdown(httpCtx); err != nil {
		errs = append(errs, fmt.Errorf("stop http: %w", err))
	}
	d.log.Info("phonelock stopped")
	return errors.Join(errs...)
}
