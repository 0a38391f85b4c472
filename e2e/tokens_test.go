package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokens_firstToken: the daemon writes the first admin token beside a
// database that has none, readable by its user only, and never again.
func TestTokens_firstToken(t *testing.T) {
	db := newDB(t)
	d := startDaemon(t, db)
	info, err := os.Stat(d.token)
	if err != nil {
		t.Fatalf("no token file beside the database: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v; want 0600", info.Mode().Perm())
	}
	secret := d.adminToken()
	if !strings.HasPrefix(secret, "pl_") {
		t.Fatalf("token file holds %q", secret)
	}
	if strings.Contains(d.log.String(), secret) {
		t.Error("the daemon logged the token's secret")
	}
	var tokens []struct{ ID, Name, Role string }
	if err := json.Unmarshal([]byte(d.mustAdmin("", "token", "list", "--json")), &tokens); err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 1 || tokens[0].Name != "first-admin" || tokens[0].Role != "admin" {
		t.Fatalf("tokens %+v; want the one first-admin token", tokens)
	}
	if strings.Contains(d.mustAdmin("", "token", "list"), "pl_") {
		t.Error("token list shows a secret")
	}

	// A restart leaves the file and the tokens as they are.
	d.stop()
	d = startDaemon(t, db)
	if d.adminToken() != secret {
		t.Error("a restart replaced the token file")
	}
	if out := d.mustAdmin("", "token", "list", "--json"); strings.Count(out, `"id"`) != 1 {
		t.Errorf("a restart made another token:\n%s", out)
	}
}

// TestTokens_bootstrapOffline: with token-file none the daemon writes no
// token; "admin --db FILE token create" makes the first one while it is
// stopped, and a daemon on a database with a token writes no file.
func TestTokens_bootstrapOffline(t *testing.T) {
	db := newDB(t)
	d := startDaemon(t, db, "--token-file", "none")
	if _, err := os.Stat(d.token); !os.IsNotExist(err) {
		t.Fatalf("token-file none, but a token file exists: %v", err)
	}
	d.stop()

	mine := filepath.Join(t.TempDir(), "ops.token")
	out, errOut, code := runAdmin(t, "", "--db", db, "token", "create", "--role", "admin", "--name", "ops", "--out", mine)
	if code != 0 || !strings.Contains(out, "created token") || strings.Contains(out, "pl_") {
		t.Fatalf("token create --out: exit %d, %q %q", code, out, errOut)
	}
	d = startDaemon(t, db)
	if _, err := os.Stat(d.token); !os.IsNotExist(err) {
		t.Errorf("the database has a token, yet the daemon wrote one: %v", err)
	}
	server := "http://" + d.httpAddr
	if _, errOut, code := runAdmin(t, "", "--server", server, "--token-file", mine, "ext", "list"); code != 0 {
		t.Errorf("ext list with the offline token: exit %d: %s", code, errOut)
	}

	// The token from the environment, and refusals.
	secret, _ := os.ReadFile(mine)
	env := []string{"PHONELOCK_SERVER=" + server}
	if _, errOut, code := runAdminEnv(t, append(env, "PHONELOCK_TOKEN="+strings.TrimSpace(string(secret))), "ext", "list"); code != 0 {
		t.Errorf("PHONELOCK_TOKEN: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runAdminEnv(t, env, "ext", "list"); code != 2 || !strings.Contains(errOut, "--token-file") {
		t.Errorf("no token: exit %d, %q; want 2 naming --token-file", code, errOut)
	}
	if _, errOut, code := runAdminEnv(t, append(env, "PHONELOCK_TOKEN=pl_nonsense"), "ext", "list"); code != 4 ||
		!strings.Contains(errOut, "token") {
		t.Errorf("wrong token: exit %d, %q; want 4", code, errOut)
	}
}

// runAdminEnv runs "phonelock admin args..." with only env as its
// environment.
func runAdminEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"admin"}, args...)...)
	cmd.Env = env
	return runCommand(t, cmd)
}

// TestTokens_userRole: a user token, through the admin command, sees and
// blocks its own extension, changes its password by giving the current
// one (which *11 then takes), and is refused everything else.
func TestTokens_userRole(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.protect(alice, "4711", false)
	d.protect(bob, "2222", false)
	d.mustAdmin("", "sp", "add", "acme-sp")
	d.mustAdmin("", "org", "add", "acme", "--sp", "acme-sp", "--domain", "127.0.0.1")
	d.mustAdmin("", "user", "add", "alice@acme", "--ext", alice, "--name", "Alice")
	tokenFile := filepath.Join(t.TempDir(), "alice.token")
	d.mustAdmin("", "token", "create", "--role", "user:alice@acme", "--name", "alice-phone", "--out", tokenFile)
	as := func(stdin string, args ...string) (string, string, int) {
		return runAdmin(t, stdin, append([]string{"--server", "http://" + d.httpAddr, "--token-file", tokenFile}, args...)...)
	}

	if out, errOut, code := as("", "ext", "list"); code != 0 || !strings.Contains(out, alice) || strings.Contains(out, bob) {
		t.Errorf("user's ext list: exit %d, %q %q; want alice's extension only", code, out, errOut)
	}
	if _, errOut, code := as("", "ext", "block", alice, "--for", "1h"); code != 0 {
		t.Errorf("user blocks its extension: exit %d %s", code, errOut)
	}
	if out, _, _ := as("", "ext", "show", alice); !strings.Contains(out, "Currently access to phone is blocked until") {
		t.Errorf("show after the timed block: %s", out)
	}
	if _, errOut, code := as("", "ext", "unblock", alice); code != 0 {
		t.Errorf("user unblocks its extension: exit %d %s", code, errOut)
	}

	// Outside its scope: the very answer of an extension that does not exist.
	_, bobErr, bobCode := as("", "ext", "show", bob)
	_, noneErr, noneCode := as("", "ext", "show", "1999@127.0.0.1")
	if bobCode != 3 || noneCode != 3 ||
		strings.ReplaceAll(bobErr, bob, "X") != strings.ReplaceAll(noneErr, "1999@127.0.0.1", "X") {
		t.Errorf("show someone else's: exit %d %q; show a missing one: exit %d %q; want the same",
			bobCode, bobErr, noneCode, noneErr)
	}
	for _, args := range [][]string{
		{"ext", "set", alice, "--voicemail", "on"},
		{"ext", "delete", alice},
		{"ext", "reset-attempts", alice},
		{"audit"},
		{"db", "stats"},
		{"user", "list"},
		{"token", "create", "--role", "user:alice@acme", "--name", "more"},
	} {
		if _, errOut, code := as("", args...); code != 4 || !strings.Contains(errOut, "may") {
			t.Errorf("user %v: exit %d %q; want 4, not allowed", args, code, errOut)
		}
	}
	if _, errOut, code := as("5555\n", "ext", "set", alice, "--password-stdin"); code != 2 ||
		!strings.Contains(errOut, "current password") {
		t.Errorf("password change without the current one: exit %d %q; want 2", code, errOut)
	}

	// Wrong current password: refused and counted.
	if _, errOut, code := as("1234\n5555\n", "ext", "set", alice, "--current-password-stdin", "--password-stdin"); code != 4 ||
		!strings.Contains(errOut, "wrong") || strings.Contains(errOut, "1234") {
		t.Errorf("wrong current password: exit %d %q; want 4", code, errOut)
	}
	if got := d.showJSON(alice)["failed_attempts"]; got != 1.0 {
		t.Errorf("failed_attempts after a wrong current password = %v; want 1", got)
	}

	// The right one: the old password stops working, *11 takes the new.
	if _, errOut, code := as("4711\n5555\n", "ext", "set", alice, "--current-password-stdin", "--password-stdin"); code != 0 {
		t.Fatalf("password change: exit %d %s", code, errOut)
	}
	call := fromAlice("*11")
	call.Entries = []string{"4711#", "5555#"}
	d.call(call)
	if !d.blocked(alice) {
		t.Error("*11 with the new password did not block")
	}
	if got := d.showJSON(alice)["failed_attempts"]; got != 0.0 {
		t.Errorf("failed_attempts after the right password = %v; want 0", got)
	}

	// The audit names the token by its name, its unique id and its role,
	// and the user's own changes came through the API.
	var tokens []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(d.mustAdmin("", "token", "list", "--json")), &tokens); err != nil {
		t.Fatal(err)
	}
	var tokenID string
	for _, tok := range tokens {
		if tok.Name == "alice-phone" {
			tokenID = tok.ID
		}
	}
	var recs []struct{ Action, Actor, Source, Token, Role string }
	if err := json.Unmarshal([]byte(d.mustAdmin("", "audit", "--ext", alice, "--json")), &recs); err != nil {
		t.Fatal(err)
	}
	var sawChange bool
	for _, r := range recs {
		if r.Action == "password_change" {
			sawChange = r.Actor == "alice-phone" && r.Source == "api" && r.Token == tokenID && r.Role == "user:alice@acme"
		}
	}
	if tokenID == "" || !sawChange {
		t.Errorf("no password_change by alice-phone (token %q, user:alice@acme) through the api in %+v", tokenID, recs)
	}
}
