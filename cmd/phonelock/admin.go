package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/phonelock/phonelock/internal/adminapi"
	"github.com/phonelock/phonelock/policy"
	"github.com/phonelock/phonelock/store"
)

const adminUsage = `usage: phonelock admin (--db FILE | --server URL [--token-file FILE]) <command> ...

  ext set NUMBER@DOMAIN [--protection on|off] [--password-stdin] [--voicemail on|off]
                        [--current-password-stdin]
  ext block NUMBER@DOMAIN [--for DURATION | --until TIME]
  ext unblock NUMBER@DOMAIN
  ext reset-attempts NUMBER@DOMAIN
  ext show NUMBER@DOMAIN [--json]
  ext list [--json]
  ext delete NUMBER@DOMAIN
  ext import FILE.csv       (columns: extension, protection, voicemail, blocked, password)
  ext export [--csv|--json]
  audit [--ext NUMBER@DOMAIN] [--since TIME] [--limit N] [--json]
  db check
  db stats [--json]
  db backup FILE
  db compact                (--db only, daemon stopped)
  sp add ID [--name NAME]
  org add ID --sp SP [--domain DOMAIN]... [--name NAME]
  user add NAME@ORG [--ext NUMBER@DOMAIN]... [--name NAME]
  sp|org|user list [--json]
  sp|org|user show ID [--json]       (a user's ID is NAME@ORG)
  sp|org|user delete ID
  token create --role admin|sp:ID|org:ID|user:NAME@ORG --name NAME [--for DURATION | --until TIME]
               [--out FILE] [--json]
  token list [--json]
  token revoke TOKEN-ID

TIME is RFC 3339 (2026-12-24T18:00:00Z); DURATION is like 90m or 2h.

--db works on the database file while the daemon is stopped, as the administrator
(ext set, ext import, sp add and token create create a missing file); while it
runs, use --server with the daemon's HTTP address (for example
http://127.0.0.1:8085), or set PHONELOCK_SERVER. The API needs a token: from
--token-file FILE or PHONELOCK_TOKEN; it may do what its role may.
--password-stdin reads the password (3 to 12 digits) as one line on standard input;
with --current-password-stdin, the current password comes first, on its own line.
token create prints the new token's secret once, on standard output or into a new
file (mode 0600) with --out.

exit codes: 0 done, 1 could not do it, 2 bad usage or invalid input,
3 no such extension (or other record), 4 token missing, wrong or not allowed to
`

// adminCmd is one parsed admin command line.
type adminCmd struct {
	db, server string
	token      string // the API token's secret
	tokenFile  string
	timeout    time.Duration
	// timeoutGiven says --timeout was set, and overrides every default.
	timeoutGiven bool
	verb         string
	id           string
	protection   onOff
	voicemail    onOff
	pwStdin      bool
	json         bool
	createdDB    bool // open made a new database file

	blockFor   positiveDuration // ext block --for
	blockUntil endValue         // ext block --until
	audit      adminapi.AuditRequest
	auditSince timeValue
	file       string // db backup FILE
	curPwStdin bool   // ext set --current-password-stdin

	node nodeFlags // sp, org, user and token commands
}

func runAdmin(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd, err := parseAdmin(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, adminUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "phonelock admin: %v\n\n%s", err, adminUsage)
		return exitUsage
	}

	req, err := cmd.setRequest(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "phonelock admin: %v\n", err)
		return exitUsage
	}

	if cmd.verb == "db compact" {
		return compactDB(cmd.db, stdout, stderr)
	}
	admin, closeAdmin, err := cmd.open()
	if err != nil {
		return adminFailure(stderr, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), cmd.timeout)
	defer cancel()
	err = cmd.do(ctx, admin, req, stdout)
	closeAdmin(err != nil)
	if err != nil {
		return adminFailure(stderr, err)
	}
	if cmd.createdDB {
		fmt.Fprintf(stderr, "phonelock admin: created a new database %s\n", cmd.db)
	}
	return exitOK
}

func parseAdmin(args []string, getenv func(string) string) (*adminCmd, error) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			return nil, flag.ErrHelp
		}
	}
	cmd := &adminCmd{}
	global := flag.NewFlagSet("phonelock admin", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&cmd.db, "db", "", "database `file` (daemon stopped)")
	global.StringVar(&cmd.server, "server", "", "daemon `URL` (daemon running)")
	global.DurationVar(&cmd.timeout, "timeout", 0,
		"give up after this long (default 10s; for imports a minute and 100ms a password, and 2 minutes more)")
	global.StringVar(&cmd.tokenFile, "token-file", "", "`file` holding the API token (daemon running)")
	if err := global.Parse(args); err != nil {
		return nil, err
	}
	if cmd.db == "" && cmd.server == "" {
		cmd.server = getenv("PHONELOCK_SERVER")
	}
	if (cmd.db == "") == (cmd.server == "") {
		return nil, errors.New("give exactly one of --db FILE or --server URL (or set PHONELOCK_SERVER)")
	}

	rest := global.Args()
	switch {
	case len(rest) >= 1 && rest[0] == "audit":
		cmd.verb, rest = "audit", rest[1:]
	case len(rest) >= 2 && slices.Contains([]string{"ext", "db", "sp", "org", "user", "token"}, rest[0]):
		cmd.verb, rest = rest[0]+" "+rest[1], rest[2:]
	default:
		return nil, errors.New("expected 'ext', 'db', 'sp', 'org', 'user' or 'token' and a command, or 'audit'")
	}
	cmd.timeoutGiven = cmd.timeout != 0
	if cmd.timeout == 0 {
		cmd.timeout = 10 * time.Second
		if cmd.verb == "ext import" {
			// The largest import's; doImport waits only as long as
			// the file's passwords need.
			cmd.timeout = importWait(adminapi.MaxImportRows)
		}
	}
	if cmd.verb == "db compact" && cmd.db == "" {
		return nil, errors.New("'db compact' works on the file with the daemon stopped: give --db FILE")
	}
	if err := cmd.parseVerb(rest); err != nil {
		return nil, err
	}
	return cmd, cmd.readToken(getenv)
}

// maxTokenFileBytes bounds what is read of a token file: a secret is a
// few dozen bytes.
const maxTokenFileBytes = 4 << 10

// readSmallFile reads the file at path, refusing one longer than limit
// bytes (such as a device that never ends) rather than reading on.
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s holds more than %d bytes: not a token file", path, limit)
	}
	return data, nil
}

// readToken finds the API token: --token-file, else PHONELOCK_TOKEN. The
// database file needs none.
func (c *adminCmd) readToken(getenv func(string) string) error {
	switch {
	case c.server == "":
		if c.tokenFile != "" {
			return errors.New("--token-file is for --server: with --db you act as the administrator")
		}
		return nil
	case c.tokenFile != "":
		data, err := readSmallFile(c.tokenFile, maxTokenFileBytes)
		if err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		// An editor may have begun the file with a byte order mark.
		c.token = strings.TrimSpace(strings.TrimPrefix(string(data), "\ufeff"))
		if c.token == "" {
			return fmt.Errorf("token file %s is empty", c.tokenFile)
		}
	default:
		c.token = strings.TrimSpace(getenv("PHONELOCK_TOKEN"))
		if c.token == "" {
			return errors.New("the admin API needs a token: give --token-file FILE or set PHONELOCK_TOKEN " +
				"(the daemon writes the first admin token beside its database)")
		}
	}
	return nil
}

// parseVerb reads a verb's argument and flags, which may come in either
// order.
func (c *adminCmd) parseVerb(args []string) error {
	fs := flag.NewFlagSet(c.verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	arg := "NUMBER@DOMAIN" // what the one positional argument is; "" for none
	switch c.verb {
	case "ext set":
		fs.Var(&c.protection, "protection", "on or off")
		fs.Var(&c.voicemail, "voicemail", "on or off")
		fs.BoolVar(&c.pwStdin, "password-stdin", false, "read the password from standard input")
		fs.BoolVar(&c.curPwStdin, "current-password-stdin", false, "read the current password from standard input first")
	case "ext show":
		fs.BoolVar(&c.json, "json", false, "print JSON")
	case "ext list", "db stats":
		fs.BoolVar(&c.json, "json", false, "print JSON")
		arg = ""
	case "ext export":
		fs.BoolVar(&c.json, "json", false, "print JSON")
		fs.Bool("csv", true, "print CSV (the default)")
		arg = ""
	case "ext import":
		arg = "FILE"
	case "ext block":
		fs.Var(&c.blockFor, "for", "block for this long")
		fs.Var(&c.blockUntil, "until", "block until this time")
	case "ext unblock", "ext delete", "ext reset-attempts":
	case "audit":
		fs.StringVar(&c.audit.Extension, "ext", "", "only this extension")
		fs.Var(&c.auditSince, "since", "only records from this time on")
		fs.IntVar(&c.audit.Limit, "limit", 100, "at most this many records")
		fs.BoolVar(&c.json, "json", false, "print JSON")
		arg = ""
	case "db check", "db compact":
		arg = ""
	case "db backup":
		arg = "FILE"
	default:
		var ok bool
		if arg, ok = c.node.bind(fs, c.verb); !ok {
			return fmt.Errorf("unknown command '%s'", c.verb)
		}
		fs.BoolVar(&c.json, "json", false, "print JSON")
	}

	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}

	switch {
	case arg != "" && len(positional) != 1:
		return fmt.Errorf("'%s' takes one %s", c.verb, arg)
	case arg == "" && len(positional) != 0:
		return fmt.Errorf("'%s' takes no arguments", c.verb)
	case arg == "FILE":
		c.file = positional[0]
	case arg == "ID", arg == "NAME@ORG":
		c.node.id = positional[0]
	case arg != "":
		id, err := store.ParseID(positional[0])
		if err != nil {
			return err
		}
		c.id = id
	}
	return c.checkFlags()
}

// checkFlags refuses flag combinations that cannot mean anything.
func (c *adminCmd) checkFlags() error {
	switch {
	case c.verb == "ext set" && !c.protection.set && !c.voicemail.set && !c.pwStdin:
		return errors.New("'ext set' needs at least one of --protection, --voicemail, --password-stdin")
	case c.curPwStdin && (!c.pwStdin || c.protection.set || c.voicemail.set):
		return errors.New("--current-password-stdin goes with --password-stdin alone")
	case c.blockFor.d > 0 && !c.blockUntil.t.IsZero():
		return errors.New("give --for or --until, not both")
	case c.verb == "audit" && (c.audit.Limit < 1 || c.audit.Limit > 10000):
		return errors.New("--limit must be 1 to 10000")
	}
	if err := c.node.check(c.verb); err != nil {
		return err
	}
	c.audit.Since = c.auditSince.t
	return nil
}

// until is when "ext block" ends, zero for no end.
func (c *adminCmd) until() time.Time {
	if c.blockFor.d > 0 {
		return time.Now().Add(c.blockFor.d).Truncate(time.Second)
	}
	return c.blockUntil.t
}

// setRequest builds the change of "ext set", reading the password first so
// that bad input is refused before anything is opened.
func (c *adminCmd) setRequest(stdin io.Reader) (adminapi.SetRequest, error) {
	var req adminapi.SetRequest
	if c.verb != "ext set" {
		return req, nil
	}
	req.Protection = c.protection.ptr()
	req.Voicemail = c.voicemail.ptr()
	in := bufio.NewReaderSize(io.LimitReader(stdin, 512), 512)
	if c.curPwStdin {
		pw, err := readPassword(in, "current password")
		if err != nil {
			return req, err
		}
		req.CurrentPassword = &pw
	}
	if c.pwStdin {
		pw, err := readPassword(in, "password")
		if err != nil {
			return req, err
		}
		req.Password = &pw
	}
	return req, nil
}

// readPassword reads one line; it must be 3 to 12 digits. what names it in
// errors, which never hold the line.
func readPassword(r *bufio.Reader, what string) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s from standard input: %w", what, err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := policy.ValidatePassword(pw); err != nil {
		return "", fmt.Errorf("%s on standard input refused: %w", what, err)
	}
	return pw, nil
}

// open returns the Admin to use, and a function that closes it once the
// command has run (failed tells it whether the command failed: a database
// file this command created is then removed, so a failure leaves nothing).
func (c *adminCmd) open() (adminapi.Admin, func(failed bool), error) {
	if c.server != "" {
		client, err := adminapi.NewClient(c.server, c.token, c.timeout)
		return client, func(bool) {}, err
	}

	// Only "ext set" may start a new database: any other command on a
	// missing file is a wrong path, and must leave nothing behind.
	_, statErr := os.Stat(c.db)
	creates := []string{"ext set", "ext import", "sp add", "token create"}
	if errors.Is(statErr, fs.ErrNotExist) && !slices.Contains(creates, c.verb) {
		return nil, nil, &adminapi.Error{Kind: adminapi.ErrUnavailable,
			Message: fmt.Sprintf("database %s does not exist", c.db)}
	}
	var readOnly bool
	switch c.verb {
	case "ext show", "ext list", "ext export", "audit", "db check", "db stats", "db backup",
		"sp list", "sp show", "org list", "org show", "user list", "user show", "token list":
		readOnly = true
	}
	st, err := store.Open(c.db, store.Options{ReadOnly: readOnly})
	if err != nil {
		return nil, nil, &adminapi.Error{Kind: adminapi.ErrUnavailable, Message: err.Error()}
	}
	c.createdDB = errors.Is(statErr, fs.ErrNotExist)
	svc := adminapi.NewService(st, store.Actor{Name: operatorName(), Source: "cli"})
	return svc, func(failed bool) {
		st.Close()
		if failed && c.createdDB {
			os.Remove(c.db)
		}
	}, nil
}

func operatorName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}

func (c *adminCmd) do(ctx context.Context, a adminapi.Admin, req adminapi.SetRequest, w io.Writer) error {
	var (
		v   adminapi.View
		err error
	)
	switch c.verb {
	case "audit", "db check", "db stats", "db backup":
		return c.doRecords(ctx, a, w)
	case "ext list", "ext export":
		vs, err := a.List(ctx)
		if err != nil {
			return err
		}
		if c.verb == "ext export" {
			return printExport(w, vs, c.json)
		}
		return printNodes(w, nil, c.json, vs, viewRows)
	case "ext import":
		return c.doImport(ctx, a, w)
	case "sp add", "sp list", "sp show", "sp delete", "org add", "org list", "org show", "org delete",
		"user add", "user list", "user show", "user delete", "token create", "token list", "token revoke":
		return c.doNode(ctx, a, w)
	case "ext delete":
		if err := a.Delete(ctx, c.id); err != nil {
			return err
		}
		fmt.Fprintf(w, "deleted %s\n", c.id)
		return nil
	case "ext set":
		v, err = a.Set(ctx, c.id, req)
	case "ext block":
		v, err = a.Block(ctx, c.id, c.until())
	case "ext unblock":
		v, err = a.Unblock(ctx, c.id)
	case "ext reset-attempts":
		v, err = a.ResetAttempts(ctx, c.id)
	case "ext show":
		v, err = a.Show(ctx, c.id)
	}
	if err != nil {
		return err
	}
	return printView(w, v, c.json)
}

func adminFailure(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "phonelock admin: %v\n", err)
	switch {
	case errors.Is(err, adminapi.ErrInvalid):
		return exitUsage
	case errors.Is(err, adminapi.ErrNotFound):
		return exitNotFound
	case errors.Is(err, adminapi.ErrUnauthorized), errors.Is(err, adminapi.ErrForbidden):
		return exitDenied
	default:
		return exitFailed
	}
}

func printView(w io.Writer, v adminapi.View, asJSON bool) error {
	if asJSON {
		return writeIndentedJSON(w, v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Extension:\t%s\n", v.Extension)
	fmt.Fprintf(tw, "Status:\t%s\n", v.Status)
	fmt.Fprintf(tw, "Protection:\t%s\n", onOffText(v.Protection))
	fmt.Fprintf(tw, "Voicemail:\t%s\n", onOffText(v.Voicemail))
	fmt.Fprintf(tw, "Password:\t%s\n", passwordText(v.PasswordSet))
	fmt.Fprintf(tw, "Failed attempts:\t%d\n", v.FailedAttempts)
	fmt.Fprintf(tw, "Locked out until:\t%s\n", timeText(v.LockedOutUntil))
	fmt.Fprintf(tw, "Blocked until:\t%s\n", timeText(v.BlockedUntil))
	return tw.Flush()
}

// viewRows is the row printer of extensions.
func viewRows(v adminapi.View) ([]string, []string) {
	return []string{"EXTENSION", "PROTECTION", "BLOCKED", "VOICEMAIL", "PASSWORD", "LOCKED OUT UNTIL"},
		[]string{v.Extension, onOffText(v.Protection), yesNo(v.Blocked), onOffText(v.Voicemail),
			yesNo(v.PasswordSet), timeText(v.LockedOutUntil)}
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func onOffText(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func passwordText(set bool) string {
	if set {
		return "set"
	}
	return "not set"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// timeText prints an optional time, "-" when there is none.
func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// onOff is a flag that takes "on" or "off" and remembers whether it was given.
type onOff struct {
	set, value bool
}

func (o *onOff) String() string {
	if o == nil || !o.set {
		return ""
	}
	return onOffText(o.value)
}

func (o *onOff) Set(s string) error {
	switch s {
	case "on":
		o.value = true
	case "off":
		o.value = false
	default:
		return fmt.Errorf("want on or off, got %q", s)
	}
	o.set = true
	return nil
}

func (o *onOff) ptr() *bool {
	if !o.set {
		return nil
	}
	v := o.value
	return &v
}
