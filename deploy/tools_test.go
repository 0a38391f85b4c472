package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// tool returns the path of an external checker. CI installs them all; a
// developer machine without one skips that check and says how to get it.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s not installed; apt-get install %s to run this check", name, pkg)
	}
	return path
}

func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPrometheus checks the scrape config and the alert rules with
// promtool, and runs the rules' unit tests.
func TestPrometheus(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	runTool(t, "prometheus", promtool, "check", "config", "prometheus.yml")
	runTool(t, "prometheus", promtool, "check", "rules", "phonelock.rules.yml")
	runTool(t, "prometheus", promtool, "test", "rules", "phonelock.rules_test.yml")
}

// TestSystemdUnit verifies the unit with systemd-analyze, against a built
// binary in place of /usr/local/bin/phonelock, and keeps its security
// exposure low.
func TestSystemdUnit(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	bin := filepath.Join(dir, "phonelock")
	runTool(t, "..", "go", "build", "-o", bin, "./cmd/phonelock")

	unit, err := os.ReadFile("systemd/phonelock.service")
	if err != nil {
		t.Fatal(err)
	}
	local := strings.ReplaceAll(string(unit), "/usr/local/bin/phonelock", bin)
	path := filepath.Join(dir, "phonelock.service")
	if err := os.WriteFile(path, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, analyze, "verify", path)

	out := runTool(t, dir, analyze, "security", "--offline=true", path)
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, err := strconv.ParseFloat(m[1], 64); err != nil || level > 2.0 {
		t.Errorf("security exposure %s, want at most 2.0:\n%s", m[1], out)
	}
}

// TestGrafanaDashboard checks the dashboard is valid JSON and queries only
// metrics phonelock exports.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("grafana/phonelock.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}

	exported := exportedMetrics(t)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			for _, name := range regexp.MustCompile(`phonelock_[a-z_]+`).FindAllString(target.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
				if !exported[base] {
					t.Errorf("panel %q queries %s, which phonelock does not export", p.Title, name)
				}
				used[base] = true
			}
		}
	}
	var unused []string
	for name := range exported {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("metrics with no panel: %v", unused)
	}
}

// exportedMetrics reads the metric names out of the metrics package.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("../internal/metrics/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`"(phonelock_[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		names[m[1]] = true
	}
	if len(names) < 5 {
		t.Fatalf("found only %v in the metrics package", names)
	}
	return names
}
