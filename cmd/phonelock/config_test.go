package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "phonelock.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestLoadServeConfig_precedence: flags beat the environment, which beats
// the file, which beats the defaults.
func TestLoadServeConfig_precedence(t *testing.T) {
	path := writeConfig(t, `
tries-per-call = 2
lockout-failures = 7
emergency = ["112", "110"]
drain-timeout = "5s"

[prompts]
goodbye = "custom/bye.wav"
`)
	vars := env(map[string]string{
		"PHONELOCK_CONFIG":                path,
		"PHONELOCK_LOCKOUT_FAILURES":      "8",
		"PHONELOCK_TRIES_PER_CALL":        "4",
		"PHONELOCK_PROMPT_ENTER_PASSWORD": "custom/pin.wav",
	})
	cfg, got, err := loadServeConfig("test", []string{"--tries-per-call", "5"}, vars, io.Discard)
	if err != nil {
		t.Fatal(err)
	}

	if got != path {
		t.Errorf("config path %q, want %q", got, path)
	}
	checks := map[string][2]any{
		"tries-per-call (flag)":   {cfg.Calls.TriesPerCall, 5},
		"lockout-failures (env)":  {cfg.Calls.Lockout.MaxFailures, 8},
		"emergency (file)":        {strings.Join(cfg.Calls.Emergency, ","), "112,110"},
		"drain-timeout (file)":    {cfg.DrainTimeout, 5 * time.Second},
		"goodbye prompt (file)":   {cfg.Calls.Prompts.Goodbye, "custom/bye.wav"},
		"enter-password (env)":    {cfg.Calls.Prompts.EnterPassword, "custom/pin.wav"},
		"lockout-duration (dflt)": {cfg.Calls.Lockout.Lockout, 15 * time.Minute},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
}

func TestLoadServeConfig_errors(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		want       string
	}{
		{"unknown key", "db = \"x.db\"\nbogus-key = 1\n", nil, `unknown key "bogus-key"`},
		{"unknown prompt", "[prompts]\nhello = \"x.wav\"\n", nil, `unknown prompt "hello"`},
		{"bad type", "tries-per-call = \"many\"\n", nil, `tries-per-call: invalid value "many"`},
		{"not toml", "this is not = = toml\n", nil, "config"},
		{"invalid value", "lockout-failures = 0\n", nil, "lockout failures"},
		{"bad flag", "", []string{"--no-such-flag"}, "no-such-flag"},
		{"missing file", "", []string{"--config", "/nonexistent/phonelock.toml"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeConfig(t, tt.file)}, args...)
			}
			_, _, err := loadServeConfig("test", args, env(nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestCheckConfig_roundTrip: what check-config prints is a file that
// loads to the same configuration.
func TestCheckConfig_roundTrip(t *testing.T) {
	var first bytes.Buffer
	args := []string{"--emergency", "112,999", "--prompt", "goodbye=a/b.wav", "--fail-closed"}
	if code := run(append([]string{"check-config"}, args...), env(nil), nil, &first, io.Discard); code != 0 {
		t.Fatalf("check-config exit %d", code)
	}

	path := writeConfig(t, first.String())
	var second bytes.Buffer
	if code := run([]string{"check-config", "--config", path}, env(nil), nil, &second, io.Discard); code != 0 {
		t.Fatalf("check-config --config exit %d", code)
	}
	strip := func(s string) string { _, body, _ := strings.Cut(s, "\n"); return body }
	if strip(first.String()) != strip(second.String()) {
		t.Errorf("round trip differs:\n%s\n---\n%s", first.String(), second.String())
	}
	for _, want := range []string{`emergency = ["112", "999"]`, `goodbye = "a/b.wav"`, "fail-closed = true"} {
		if !strings.Contains(first.String(), want) {
			t.Errorf("check-config output lacks %s:\n%s", want, first.String())
		}
	}
}

func TestDiffSettings(t *testing.T) {
	old := defaultServeConfig()
	next := defaultServeConfig()
	next.Calls.Emergency = []string{"112"}
	next.Calls.Prompts.Goodbye = "x.wav"
	next.DB = "other.db"

	applied, restart := diffSettings(old, next)
	if strings.Join(applied, ",") != "emergency,prompt" || strings.Join(restart, ",") != "db" {
		t.Errorf("applied %v, restart %v; want [emergency prompt], [db]", applied, restart)
	}
}

func TestLoadServeConfig_hints(t *testing.T) {
	tests := map[string]string{
		"PHONELOCK_LOCKOUT_DURATION": "want a duration",
		"PHONELOCK_LOCKOUT_FAILURES": "want a whole number",
		"PHONELOCK_FAIL_CLOSED":      "want true or false",
		"PHONELOCK_LOG_LEVEL":        "PHONELOCK_LOG_LEVEL",
	}
	for name, want := range tests {
		_, _, err := loadServeConfig("test", nil, env(map[string]string{name: "abc"}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=abc: %v, want an error naming it and saying %q", name, err, want)
		}
	}
	if _, _, err := loadServeConfig("test", []string{"--emergency", ""}, env(nil), io.Discard); err == nil {
		t.Error("an empty emergency list was accepted")
	}
}
