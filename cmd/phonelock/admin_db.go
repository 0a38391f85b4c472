package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/phonelock/phonelock/internal/adminapi"
	"github.com/phonelock/phonelock/store"
)

// doRecords runs the audit and database commands.
func (c *adminCmd) doRecords(ctx context.Context, a adminapi.Admin, w io.Writer) error {
	switch c.verb {
	case "audit":
		recs, err := a.Audit(ctx, c.audit)
		if err != nil {
			return err
		}
		return printNodes(w, nil, c.json, recs, auditRows)
	case "db check":
		if err := a.DBCheck(ctx); err != nil {
			return err
		}
		fmt.Fprintln(w, "database consistent")
		return nil
	case "db stats":
		st, err := a.DBStats(ctx)
		if err != nil {
			return err
		}
		return printStats(w, st, c.json)
	default: // db backup
		return c.backup(ctx, a, w)
	}
}

// backup writes the database to c.file, next to it first and renamed into
// place only once the copy has been read back and checked.
func (c *adminCmd) backup(ctx context.Context, a adminapi.Admin, w io.Writer) error {
	if _, err := os.Stat(c.file); err == nil {
		return &adminapi.Error{Kind: adminapi.ErrInvalid, Message: fmt.Sprintf("%s exists; give a new file", c.file)}
	}
	tmp := c.file + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return &adminapi.Error{Kind: adminapi.ErrUnavailable, Message: "create backup: " + err.Error()}
	}
	defer os.Remove(tmp)

	n, err := a.DBBackup(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = verifyBackup(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, c.file)
	}
	if err != nil {
		return &adminapi.Error{Kind: adminapi.ErrUnavailable, Message: "backup: " + err.Error()}
	}
	fmt.Fprintf(w, "backup written to %s (%d bytes, checked)\n", c.file, n)
	return nil
}

// verifyBackup opens a copy and runs the consistency check on it.
func verifyBackup(path string) error {
	st, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		return fmt.Errorf("the copy is not consistent: %w", err)
	}
	return nil
}

// compactDB rewrites the database without free pages. The daemon must be
// stopped: the file is replaced only once the compacted copy checks out.
func compactDB(db string, stdout, stderr io.Writer) int {
	tmp := db + ".compact"
	os.Remove(tmp)
	before, err := os.Stat(db)
	if err == nil {
		err = store.Compact(db, tmp)
	}
	if err == nil {
		err = verifyBackup(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, db)
	}
	if err != nil {
		os.Remove(tmp)
		msg := err.Error()
		if errors.Is(err, store.ErrLocked) {
			msg = fmt.Sprintf("database %s is in use: stop the daemon before compacting it", db)
		}
		fmt.Fprintf(stderr, "phonelock admin: db compact: %s\n", msg)
		return exitFailed
	}
	if after, err := os.Stat(db); err == nil {
		fmt.Fprintf(stdout, "compacted %s: %d -> %d bytes\n", db, before.Size(), after.Size())
	}
	return exitOK
}

// auditRows is the row printer of audit records.
func auditRows(r store.AuditRecord) ([]string, []string) {
	return []string{"TIME", "EXTENSION", "ACTION", "RESULT", "ACTOR", "SOURCE", "ADDR", "TOKEN", "ROLE", "DETAIL"},
		[]string{r.Time.UTC().Format(time.RFC3339), dash(r.Extension), r.Action, r.Result, r.Actor, r.Source,
			dash(r.Addr), dash(r.Token), dash(r.Role), dash(r.Detail)}
}

func printStats(w io.Writer, st adminapi.StatsView, asJSON bool) error {
	if asJSON {
		return writeIndentedJSON(w, st)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Blocked:\t%d\n", st.Blocked)
	fmt.Fprintf(tw, "Unrestricted:\t%d\n", st.Unrestricted)
	fmt.Fprintf(tw, "Unprotected:\t%d\n", st.Unprotected)
	fmt.Fprintf(tw, "Locked out:\t%d\n", st.LockedOut)
	fmt.Fprintf(tw, "Audit records:\t%d\n", st.AuditRecords)
	fmt.Fprintf(tw, "File size:\t%d bytes\n", st.FileBytes)
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// timeValue is a flag holding an RFC 3339 time.
type timeValue struct{ t time.Time }

func (v *timeValue) String() string {
	if v == nil || v.t.IsZero() {
		return ""
	}
	return v.t.Format(time.RFC3339)
}

func (v *timeValue) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-12-24T18:00:00Z")
	}
	v.t = t
	return nil
}

// endValue is a timeValue for the end of a block or a token, which cannot
// be the zero time: inside, that stands for no end at all.
type endValue struct{ timeValue }

func (v *endValue) Set(s string) error {
	if err := v.timeValue.Set(s); err != nil {
		return err
	}
	if v.t.IsZero() {
		return fmt.Errorf("%s is no time to end at", s)
	}
	return nil
}

// positiveDuration is a flag holding a duration above zero; zero, the
// flag's value when not given, cannot be given.
type positiveDuration struct{ d time.Duration }

func (v *positiveDuration) String() string {
	if v == nil || v.d == 0 {
		return ""
	}
	return v.d.String()
}

func (v *positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return fmt.Errorf("want a duration such as 90m or 2h")
	case d <= 0:
		return fmt.Errorf("want a duration above zero, not %s", s)
	}
	v.d = d
	return nil
}
