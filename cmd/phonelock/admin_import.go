package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/phonelock/phonelock/internal/adminapi"
)

// csvColumns are the columns of an import or export file, in export order.
var csvColumns = []string{"extension", "protection", "voicemail", "blocked", "password"}

// doImport reads c.file as CSV and imports it, all or nothing.
func (c *adminCmd) doImport(ctx context.Context, a adminapi.Admin, w io.Writer) error {
	f, err := os.Open(c.file)
	if err != nil {
		return &adminapi.Error{Kind: adminapi.ErrInvalid, Message: "open import file: " + err.Error()}
	}
	defer f.Close()

	rows, err := readImportCSV(f)
	if err != nil {
		return &adminapi.Error{Kind: adminapi.ErrInvalid, Message: fmt.Sprintf("%s: %v (nothing was imported)", c.file, err)}
	}
	passwords := 0
	for _, r := range rows {
		if r.Password != nil {
			passwords++
		}
	}
	if !c.timeoutGiven {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, importWait(passwords))
		defer cancel()
	}
	n, err := a.Import(ctx, rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "imported %d rows from %s\n", n, c.file)
	return nil
}

// importWait is how long the command waits for an import with the given
// number of passwords: the daemon's budget for it, and two minutes to
// send the rows and hear the answer.
func importWait(passwords int) time.Duration {
	return adminapi.ImportBudget(passwords) + 2*time.Minute
}

// readImportCSV reads a header row naming some of csvColumns (extension is
// required) and one extension per row. An empty cell leaves that setting
// as it is; passwords are checked and hashed by the import itself.
func readImportCSV(r io.Reader) ([]adminapi.ImportRow, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("line 1: want a header row: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		if i == 0 {
			// Spreadsheets often begin a UTF-8 file with a byte order mark.
			name = strings.TrimPrefix(name, "\ufeff")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if !slices.Contains(csvColumns, name) {
			return nil, fmt.Errorf("line 1: unknown column %q; columns: %s", name, strings.Join(csvColumns, ", "))
		}
		if _, twice := col[name]; twice {
			return nil, fmt.Errorf("line 1: column %q appears twice", name)
		}
		col[name] = i
	}
	if _, ok := col["extension"]; !ok {
		return nil, errors.New("line 1: the header has no extension column")
	}

	var rows []adminapi.ImportRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		row, err := importRow(rec, col, line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, row)
	}
}

func importRow(rec []string, col map[string]int, line int) (adminapi.ImportRow, error) {
	cell := func(name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	row := adminapi.ImportRow{Line: line, Extension: cell("extension")}
	for name, dst := range map[string]**bool{"protection": &row.Protection, "voicemail": &row.Voicemail, "blocked": &row.Blocked} {
		v, err := parseSwitch(cell(name))
		if err != nil {
			return row, fmt.Errorf("%s: %w", name, err)
		}
		*dst = v
	}
	if pw := cell("password"); pw != "" {
		row.Password = &pw
	}
	return row, nil
}

// parseSwitch reads on/off (or yes/no, true/false, 1/0); empty is nil.
func parseSwitch(s string) (*bool, error) {
	var v bool
	switch strings.ToLower(s) {
	case "":
		return nil, nil
	case "on", "yes", "true", "1":
		v = true
	case "off", "no", "false", "0":
		v = false
	default:
		return nil, fmt.Errorf("want on or off, got %q", s)
	}
	return &v, nil
}

// printExport writes every extension as CSV (the import format, without
// passwords) or JSON.
func printExport(w io.Writer, vs []adminapi.View, asJSON bool) error {
	if asJSON {
		return printNodes(w, nil, true, vs, viewRows)
	}
	cw := csv.NewWriter(w)
	cw.Write(csvColumns[:4])
	for _, v := range vs {
		cw.Write([]string{v.Extension, onOffText(v.Protection), onOffText(v.Voicemail), onOffText(v.Blocked)})
	}
	cw.Flush()
	return cw.Error()
}
