package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/phonelock/phonelock/internal/callflow"
	"github.com/phonelock/phonelock/policy"
)

// serveConfig is everything "phonelock serve" runs with.
type serveConfig struct {
	DB           string
	ESLListen    string
	HTTPListen   string
	LogLevel     slog.Level
	LogFormat    string
	DrainTimeout time.Duration
	Calls        callflow.Config
}

// parseServeFlags reads the serve command line over the defaults. Every
// setting has a default that runs out of the box: a database file in the
// working directory and listeners on loopback.
func parseServeFlags(args []string, stderr io.Writer) (*serveConfig, error) {
	cfg := &serveConfig{
		DB:           "phonelock.db",
		ESLListen:    "127.0.0.1:8084",
		HTTPListen:   "127.0.0.1:9090",
		LogLevel:     slog.LevelInfo,
		LogFormat:    "text",
		DrainTimeout: 30 * time.Second,
		Calls:        callflow.DefaultConfig(),
	}
	calls := &cfg.Calls

	fs := flag.NewFlagSet("phonelock serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DB, "db", cfg.DB, "bbolt database `file` (created if missing)")
	fs.StringVar(&cfg.ESLListen, "esl-listen", cfg.ESLListen, "`address` for FreeSWITCH's outbound socket connections (port 0 picks a free port)")
	fs.StringVar(&cfg.HTTPListen, "http-listen", cfg.HTTPListen, "`address` for /metrics, /healthz, /readyz and the admin API")
	fs.TextVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log `level`: debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log `format`: text or json")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "on SIGTERM, how long calls in progress may take to finish")

	fs.StringVar(&calls.FeatureCode, "feature-code", calls.FeatureCode, "number dialed to block or unblock the terminal")
	fs.Func("emergency", "comma-separated emergency `numbers`, always allowed (default \"112,911\")", func(s string) error {
		calls.Emergency = splitList(s)
		return nil
	})
	fs.BoolVar(&calls.FailClosed, "fail-closed", calls.FailClosed, "refuse calls when the database cannot be read (default: allow them)")
	fs.BoolVar(&calls.TrustCallerID, "trust-caller-id", calls.TrustCallerID, "identify unauthenticated callers by caller ID (forgeable: only for trusted trunks)")
	fs.IntVar(&calls.Lockout.MaxFailures, "lockout-failures", calls.Lockout.MaxFailures, "wrong passwords in a row that lock the feature code")
	fs.DurationVar(&calls.Lockout.Lockout, "lockout-duration", calls.Lockout.Lockout, "how long the feature code stays locked")
	fs.IntVar(&calls.TriesPerCall, "tries-per-call", calls.TriesPerCall, "passwords one call may try")
	fs.StringVar(&calls.VoicemailApp, "voicemail-app", calls.VoicemailApp, "application that takes calls for blocked extensions with voicemail")
	fs.StringVar(&calls.VoicemailArgs, "voicemail-args", calls.VoicemailArgs, "its arguments; {number} and {domain} are the called extension")
	fs.StringVar(&calls.IncomingCause, "incoming-cause", calls.IncomingCause, "hangup cause for calls to blocked extensions without voicemail")
	fs.StringVar(&calls.OutgoingCause, "outgoing-cause", calls.OutgoingCause, "hangup cause for calls from blocked terminals")
	fs.Func("prompt", "set a prompt, `NAME=FILE` (repeatable); names: "+strings.Join(callflow.PromptNames, ", "), func(s string) error {
		return setPrompt(&calls.Prompts, s)
	})

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, cfg.validate()
}

func (c *serveConfig) validate() error {
	var errs []error
	if c.DB == "" {
		errs = append(errs, errors.New("--db must name a file"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format must be text or json, got %q", c.LogFormat))
	}
	if c.DrainTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--drain-timeout must be positive, got %s", c.DrainTimeout))
	}
	errs = append(errs, c.Calls.Validate())
	return errors.Join(errs...)
}

func splitList(s string) policy.Numbers {
	var out policy.Numbers
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func setPrompt(p *callflow.Prompts, s string) error {
	name, file, ok := strings.Cut(s, "=")
	field := p.Field(name)
	switch {
	case !ok:
		return fmt.Errorf("want NAME=FILE, got %q", s)
	case field == nil:
		return fmt.Errorf("unknown prompt %q; names: %s", name, strings.Join(callflow.PromptNames, ", "))
	}
	*field = file
	return nil
}
