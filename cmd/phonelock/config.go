package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

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
	// TokenFile is where the first admin token goes; "" for beside the
	// database, "none" for nowhere.
	TokenFile string
	// AuditRetention is how long audit records are kept.
	AuditRetention time.Duration
	Calls          callflow.Config
}

func defaultServeConfig() *serveConfig {
	return &serveConfig{
		DB:             "phonelock.db",
		ESLListen:      "127.0.0.1:8084",
		HTTPListen:     "127.0.0.1:8085",
		LogLevel:       slog.LevelInfo,
		LogFormat:      "text",
		DrainTimeout:   30 * time.Second,
		AuditRetention: 90 * 24 * time.Hour,
		Calls:          callflow.DefaultConfig(),
	}
}

// setting is one configuration setting. Its name is the same everywhere:
// the flag --NAME, the environment variable PHONELOCK_NAME (upper case,
// '-' as '_') and the key NAME of the configuration file.
type setting struct {
	name   string
	help   string
	reload bool // takes effect on SIGHUP without a restart
	field  func(c *serveConfig) any
}

// settings lists every setting, in the order check-config prints them.
var settings = []setting{
	{"db", "bbolt database `file` (created if missing)", false, func(c *serveConfig) any { return &c.DB }},
	{"token-file", "`file` the first admin token is written to (0600) when the database has no token; default: the database's path ending in .token; none: never", false, func(c *serveConfig) any { return &c.TokenFile }},
	{"esl-listen", "`address` for FreeSWITCH's outbound socket connections (port 0 picks a free port)", false, func(c *serveConfig) any { return &c.ESLListen }},
	{"http-listen", "`address` for /metrics, /healthz, /readyz and the admin API", false, func(c *serveConfig) any { return &c.HTTPListen }},
	{"log-level", "log `level`: debug, info, warn or error", true, func(c *serveConfig) any { return (*levelValue)(&c.LogLevel) }},
	{"log-format", "log `format`: text or json", false, func(c *serveConfig) any { return &c.LogFormat }},
	{"drain-timeout", "on SIGTERM, how long calls in progress may take to finish", true, func(c *serveConfig) any { return &c.DrainTimeout }},
	{"audit-retention", "how long audit records are kept (pruned hourly in small batches)", true, func(c *serveConfig) any { return &c.AuditRetention }},
	{"feature-code", "number dialed to block or unblock the terminal", true, func(c *serveConfig) any { return &c.Calls.FeatureCode }},
	{"emergency", "comma-separated emergency `numbers`, always allowed", true, func(c *serveConfig) any { return (*numbersValue)(&c.Calls.Emergency) }},
	{"fail-closed", "refuse calls when the database cannot be read (default: allow them)", true, func(c *serveConfig) any { return &c.Calls.FailClosed }},
	{"trust-caller-id", "identify unauthenticated callers by caller ID (forgeable: only for trusted trunks)", true, func(c *serveConfig) any { return &c.Calls.TrustCallerID }},
	{"lockout-failures", "wrong passwords in a row that lock the feature code", true, func(c *serveConfig) any { return &c.Calls.Lockout.MaxFailures }},
	{"lockout-duration", "how long the feature code stays locked", true, func(c *serveConfig) any { return &c.Calls.Lockout.Lockout }},
	{"tries-per-call", "passwords one call may try", true, func(c *serveConfig) any { return &c.Calls.TriesPerCall }},
	{"voicemail-app", "application that takes calls for blocked extensions with voicemail", true, func(c *serveConfig) any { return &c.Calls.VoicemailApp }},
	{"voicemail-args", "its arguments; {number} and {domain} are the called extension", true, func(c *serveConfig) any { return &c.Calls.VoicemailArgs }},
	{"incoming-cause", "hangup cause for calls to blocked extensions without voicemail", true, func(c *serveConfig) any { return &c.Calls.IncomingCause }},
	{"outgoing-cause", "hangup cause for calls from blocked terminals", true, func(c *serveConfig) any { return &c.Calls.OutgoingCause }},
	{"prompt", "set a prompt, `NAME=FILE` (repeatable); names: " + strings.Join(callflow.PromptNames, ", "), true, func(c *serveConfig) any { return (*promptsValue)(&c.Calls.Prompts) }},
}

// bind registers every setting of cfg on fs.
func bind(fs *flag.FlagSet, cfg *serveConfig) {
	for _, s := range settings {
		switch p := s.field(cfg).(type) {
		case *string:
			fs.StringVar(p, s.name, *p, s.help)
		case *bool:
			fs.BoolVar(p, s.name, *p, s.help)
		case *int:
			fs.IntVar(p, s.name, *p, s.help)
		case *time.Duration:
			fs.DurationVar(p, s.name, *p, s.help)
		case flag.Value:
			fs.Var(p, s.name, s.help)
		default:
			panic(fmt.Sprintf("setting %s: unsupported type %T", s.name, p))
		}
	}
}

// loadServeConfig builds the configuration from, in rising precedence: the
// defaults, the file named by --config or PHONELOCK_CONFIG, PHONELOCK_*
// environment variables, and the command line.
// name is the command line's name for help texts, such as "phonelock serve".
func loadServeConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (*serveConfig, string, error) {
	path, err := configPath(args, getenv)
	if err != nil {
		return nil, "", err
	}

	cfg := defaultServeConfig()
	fs := newServeFlagSet(name, cfg, new(string), stderr)
	if path != "" {
		if err := applyFile(fs, path); err != nil {
			return nil, path, err
		}
	}
	if err := applyEnv(fs, getenv); err != nil {
		return nil, path, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, path, err
	}
	if fs.NArg() > 0 {
		return nil, path, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, path, cfg.validate()
}

func newServeFlagSet(name string, cfg *serveConfig, configFile *string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(configFile, "config", "", "configuration `file` (TOML; keys are the flag names)")
	bind(fs, cfg)
	return fs
}

// configPath finds --config on the command line, else PHONELOCK_CONFIG.
func configPath(args []string, getenv func(string) string) (string, error) {
	var path string
	fs := newServeFlagSet("", defaultServeConfig(), &path, io.Discard)
	if err := fs.Parse(args); err != nil && !errors.Is(err, flag.ErrHelp) {
		return "", err
	}
	if path == "" {
		path = getenv("PHONELOCK_CONFIG")
	}
	return path, nil
}

// applyFile sets every key of the TOML file at path on fs. A key that names
// no setting is an error that names it.
func applyFile(fs *flag.FlagSet, path string) error {
	var raw map[string]any
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}

	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if err := applyKey(fs, key, raw[key]); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
	}
	return nil
}

func applyKey(fs *flag.FlagSet, key string, value any) error {
	if key == "prompts" {
		table, ok := value.(map[string]any)
		if !ok {
			return errors.New(`"prompts" must be a table of NAME = "FILE"`)
		}
		for name, file := range table {
			if err := fs.Set("prompt", name+"="+fmt.Sprint(file)); err != nil {
				return fmt.Errorf("prompts.%s: %w", name, err)
			}
		}
		return nil
	}
	if key == "prompt" || key == "config" || fs.Lookup(key) == nil {
		return fmt.Errorf("unknown key %q", key)
	}

	text, err := tomlText(value)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if err := fs.Set(key, text); err != nil {
		return invalidValue(fs, key, key, text, err)
	}
	return nil
}

// invalidValue explains a value a setting refused, with the form it wants.
func invalidValue(fs *flag.FlagSet, setting, where, text string, err error) error {
	want := ""
	var current any
	if g, ok := fs.Lookup(setting).Value.(flag.Getter); ok {
		current = g.Get()
	}
	switch current.(type) {
	case time.Duration:
		want = " (want a duration such as 90s, 15m or 2h)"
	case int:
		want = " (want a whole number)"
	case bool:
		want = " (want true or false)"
	}
	return fmt.Errorf("%s: invalid value %q%s: %w", where, text, want, err)
}

// tomlText turns a decoded TOML value into the text a flag takes.
func tomlText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("list items must be strings, got %v", e)
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	default:
		return "", fmt.Errorf("unsupported value %v (%T)", v, v)
	}
}

// applyEnv sets every PHONELOCK_* variable that names a setting. Prompts
// are PHONELOCK_PROMPT_<NAME>, such as PHONELOCK_PROMPT_ENTER_PASSWORD.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	for _, s := range settings {
		if s.name == "prompt" {
			continue
		}
		if v := getenv(envName(s.name)); v != "" {
			if err := fs.Set(s.name, v); err != nil {
				return invalidValue(fs, s.name, envName(s.name), v, err)
			}
		}
	}
	for _, name := range callflow.PromptNames {
		key := envName("prompt-" + name)
		if v := getenv(key); v != "" {
			if err := fs.Set("prompt", name+"="+v); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return nil
}

func envName(setting string) string {
	return "PHONELOCK_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

func (c *serveConfig) validate() error {
	var errs []error
	if c.DB == "" {
		errs = append(errs, errors.New("db must name a file"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format must be text or json, got %q", c.LogFormat))
	}
	if c.AuditRetention < time.Hour {
		errs = append(errs, fmt.Errorf("audit-retention must be at least 1h, got %s", c.AuditRetention))
	}
	if c.DrainTimeout <= 0 {
		errs = append(errs, fmt.Errorf("drain-timeout must be positive, got %s", c.DrainTimeout))
	}
	errs = append(errs, c.Calls.Validate())
	return errors.Join(errs...)
}

// values returns every setting's effective value as text, by name.
func (c *serveConfig) values() map[string]string {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	bind(fs, c)
	out := make(map[string]string, len(settings))
	fs.VisitAll(func(f *flag.Flag) { out[f.Name] = f.Value.String() })
	return out
}

// writeTOML prints the configuration as a file phonelock accepts.
func (c *serveConfig) writeTOML(w io.Writer) {
	values := c.values()
	for _, s := range settings {
		switch p := s.field(c).(type) {
		case *promptsValue:
			continue
		case *bool, *int:
			fmt.Fprintf(w, "%s = %s\n", s.name, values[s.name])
		case *numbersValue:
			fmt.Fprintf(w, "%s = [%s]\n", s.name, quoteList(*p))
		default:
			fmt.Fprintf(w, "%s = %q\n", s.name, values[s.name])
		}
	}
	fmt.Fprintln(w, "\n[prompts]")
	for _, name := range callflow.PromptNames {
		fmt.Fprintf(w, "%s = %q\n", name, *c.Calls.Prompts.Field(name))
	}
}

func quoteList(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = strconv.Quote(s)
	}
	return strings.Join(quoted, ", ")
}

// numbersValue is the flag form of a list of numbers: "112,911".
type numbersValue policy.Numbers

func (n *numbersValue) String() string { return strings.Join(*n, ",") }

func (n *numbersValue) Set(s string) error {
	var out policy.Numbers
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	*n = numbersValue(out)
	return nil
}

// promptsValue sets one prompt per use: "NAME=FILE".
type promptsValue callflow.Prompts

func (p *promptsValue) String() string {
	if p == nil {
		return ""
	}
	prompts := (*callflow.Prompts)(p)
	parts := make([]string, len(callflow.PromptNames))
	for i, name := range callflow.PromptNames {
		parts[i] = name + "=" + *prompts.Field(name)
	}
	return strings.Join(parts, " ")
}

func (p *promptsValue) Set(s string) error {
	name, file, ok := strings.Cut(s, "=")
	field := (*callflow.Prompts)(p).Field(name)
	switch {
	case !ok:
		return fmt.Errorf("want NAME=FILE, got %q", s)
	case field == nil:
		return fmt.Errorf("unknown prompt %q; names: %s", name, strings.Join(callflow.PromptNames, ", "))
	}
	*field = file
	return nil
}

// levelValue is a log level as a setting, printed in lower case as
// operators write it.
type levelValue slog.Level

func (l *levelValue) String() string {
	if l == nil {
		return "info"
	}
	return strings.ToLower(slog.Level(*l).String())
}

func (l *levelValue) Set(s string) error {
	return (*slog.Level)(l).UnmarshalText([]byte(s))
}

// Get implements flag.Getter.
func (l *levelValue) Get() any { return slog.Level(*l) }
