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
	"os/signal"
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
// progress and exits 0.
func runServe(args []string, stderr io.Writer) int {
	cfg, err := parseServeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "phonelock serve: %v\n", err)
		return exitUsage
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("phonelock stopped", "error", err)
		return exitFailed
	}
	return exitOK
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// daemon is the running daemon's parts.
type daemon struct {
	cfg     *serveConfig
	log     *slog.Logger
	store   *store.Store
	metrics *metrics.Metrics
	esl     *esl.Server
	http    *http.Server
}

// serve opens the store and the listeners, serves until ctx is done, then
// shuts down in order: stop taking calls, drain, stop HTTP, close the store.
func serve(ctx context.Context, cfg *serveConfig, log *slog.Logger) error {
	st, err := store.Open(cfg.DB, store.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()

	eslLn, err := net.Listen("tcp", cfg.ESLListen)
	if err != nil {
		return fmt.Errorf("listen for esl: %w", err)
	}
	httpLn, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		eslLn.Close()
		return fmt.Errorf("listen for http: %w", err)
	}

	d := newDaemon(cfg, log, st)
	errc := make(chan error, 2)
	go func() { errc <- d.esl.Serve(eslLn) }()
	go func() { errc <- d.http.Serve(httpLn) }()
	log.Info("phonelock started", "version", version, "db", cfg.DB,
		"esl_addr", eslLn.Addr().String(), "http_addr", httpLn.Addr().String())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	return errors.Join(runErr, d.shutdown())
}

func newDaemon(cfg *serveConfig, log *slog.Logger, st *store.Store) *daemon {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, version)
	calls := cfg.Calls
	flows := callflow.New(st, log, m, func() *callflow.Config { return &calls })

	d := &daemon{cfg: cfg, log: log, store: st, metrics: m}
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
	svc := adminapi.NewService(st, store.Actor{Name: "api", Source: "api"})
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

// shutdown stops taking calls at once, lets calls in progress finish within
// the drain timeout, then stops the HTTP listener.
func (d *daemon) shutdown() error {
	d.log.Info("phonelock shutting down", "drain_timeout", d.cfg.DrainTimeout)

	drainCtx, cancel := context.WithTimeout(context.Background(), d.cfg.DrainTimeout)
	defer cancel()
	var errs []error
	if err := d.esl.Shutdown(drainCtx); err != nil {
		d.log.Warn("drain deadline passed; calls still in progress were ended", "error", err)
	}

	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelHTTP()
	if err := d.http.Shutdown(httpCtx); err != nil {
		errs = append(errs, fmt.Errorf("stop http: %w", err))
	}
	d.log.Info("phonelock stopped")
	return errors.Join(errs...)
}
