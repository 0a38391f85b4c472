package store

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStore_Import(t *testing.T) {
	s, clock := openTestStore(t)
	_, oldHash := protect(t, s, "100@example.com", "1234")
	if _, err := s.BlockUntil("100@example.com", clock.Now().Add(time.Hour), testActor); err != nil {
		t.Fatal(err)
	}
	newHash := testHash(t, "5678")
	clock.Advance(time.Minute)

	rows := []ImportRow{
		// Keeps the password, drops the timer.
		{Line: 2, ID: "100@EXAMPLE.com", Voicemail: ptr(true), Blocked: ptr(true)},
		{Line: 3, ID: "200@example.com", Protection: ptr(true), PasswordHash: newHash},
		{Line: 4, ID: "300@example.com", PasswordHash: []byte{}},
		// A later row applies on top of an earlier one.
		{Line: 5, ID: "300@example.com", Voicemail: ptr(true)},
	}
	n, err := s.Import(rows, testActor)
	if err != nil || n != 4 {
		t.Fatalf("Import() = %d, %v; want 4", n, err)
	}

	tests := []struct {
		id                             string
		protection, blocked, voicemail bool
		hash                           []byte
	}{
		{"100@example.com", true, true, true, oldHash},
		{"200@example.com", true, false, false, newHash},
		{"300@example.com", false, false, true, nil},
	}
	for _, tt := range tests {
		got, err := s.Get(tt.id)
		if err != nil || got.Protection != tt.protection || got.Blocked != tt.blocked ||
			got.Voicemail != tt.voicemail || !bytes.Equal(got.PasswordHash, tt.hash) ||
			!got.BlockedUntil.IsZero() || !got.UpdatedAt.Equal(clock.Now()) {
			t.Errorf("Get(%s) = %+v, %v; want protection %v, blocked %v, voicemail %v, its hash",
				tt.id, got, err, tt.protection, tt.blocked, tt.voicemail)
		}
	}

	// A record for every extension the import changed, saying how it ends
	// up, then one for the import.
	last, _ := s.Audit("", 5)
	var got []string
	for _, r := range last {
		got = append(got, strings.Join(strings.Fields(r.Action+" "+r.Extension+" "+r.Detail), " "))
	}
	want := []string{
		"import rows=4",
		"import 300@example.com line=4 rows=2 created protection=off voicemail=on password=unchanged blocked=off",
		"import 200@example.com line=3 created protection=on voicemail=off password=changed blocked=off",
		"import 100@example.com line=2 protection=on voicemail=on password=unchanged blocked=on timer=cleared",
		"block 100@example.com until=" + last[4].Detail[len("until="):],
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestStore_Import_AllOrNothing(t *testing.T) {
	s, _ := openTestStore(t)
	protect(t, s, "100@example.com", "1234")
	mustSet(t, s, "200@example.com", Settings{})
	good := ImportRow{Line: 1, ID: "500@example.com", Voicemail: ptr(true)}

	tests := []struct {
		name    string
		bad     ImportRow
		wantErr error
	}{
		{"malformed id", ImportRow{ID: "500"}, ErrInvalidID},
		{"protection without password", ImportRow{ID: "600@example.com", Protection: ptr(true)},
			ErrNoPassword},
		{"blocked without protection", ImportRow{ID: "200@example.com", Blocked: ptr(true)},
			ErrProtectionOff},
		{"blocked, protection switched off", ImportRow{ID: "100@example.com",
			Protection: ptr(false), Blocked: ptr(true)}, ErrProtectionOff},
		{"hash not bcrypt", ImportRow{ID: "600@example.com", PasswordHash: []byte("1234")}, errNotBcrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := auditCount(t, s)
			tt.bad.Line = 3
			rows := []ImportRow{good, {Line: 2, ID: "100@example.com", Blocked: ptr(true)}, tt.bad,
				{Line: 4, ID: "700@example.com"}}

			n, err := s.Import(rows, testActor)
			var importErr *ImportError
			if !errors.As(err, &importErr) || importErr.Line != 3 || !errors.Is(err, tt.wantErr) || n != 0 {
				t.Fatalf("Import() = %d, %v; want an ImportError for line 3 wrapping %v", n, err, tt.wantErr)
			}

			// Nothing was written, neither the good rows before nor the
			// audit record.
			if _, err := s.Get("500@example.com"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(500@example.com) error = %v; want ErrNotFound", err)
			}
			if ext, _ := s.Get("100@example.com"); ext.Blocked {
				t.Error("line 2 of the failed import was written")
			}
			if got := auditCount(t, s); got != before {
				t.Errorf("the failed import wrote %d audit records", got-before)
			}
		})
	}
}

// TestStore_Import_10000 imports 10,000 extensions without passwords in
// one transaction, as `phonelock admin ext import` does.
func TestStore_Import_10000(t *testing.T) {
	s, _ := openTestStore(t)
	rows := make([]ImportRow, 10000)
	for i := range rows {
		rows[i] = ImportRow{Line: i + 2, ID: strconv.Itoa(10000+i) + "@example.com",
			Voicemail: ptr(i%2 == 0)}
	}

	start := time.Now()
	n, err := s.Import(rows, testActor)
	elapsed := time.Since(start)
	if err != nil || n != len(rows) {
		t.Fatalf("Import() = %d, %v; want %d", n, err, len(rows))
	}
	t.Logf("Import of %d rows took %v", n, elapsed)
	if elapsed > 10*time.Second {
		t.Errorf("Import took %v; want well under 10s", elapsed)
	}

	// Again, now as updates.
	start = time.Now()
	if _, err := s.Import(rows, testActor); err != nil {
		t.Fatal(err)
	}
	t.Logf("Import of %d updates took %v", n, time.Since(start))

	list, err := s.List()
	if err != nil || len(list) != len(rows) {
		t.Errorf("List() = %d extensions, %v; want %d", len(list), err, len(rows))
	}
	// The first import created every extension, the second changed none.
	if got, want := auditCount(t, s), len(rows)+2; got != want {
		t.Errorf("audit holds %d records; want %d: one an extension created, one an import", got, want)
	}
}

// TestStore_Import_oneRecordAnExtension: an import naming one extension
// again and again writes one record for it, not one a row, so an import
// cannot flood the audit trail beyond one record an extension.
func TestStore_Import_oneRecordAnExtension(t *testing.T) {
	s, _ := openTestStore(t)
	rows := make([]ImportRow, 5000)
	for i := range rows {
		rows[i] = ImportRow{Line: i + 2, ID: "100@example.com", Voicemail: ptr(i%2 == 0)}
	}
	before := auditCount(t, s)
	if _, err := s.Import(rows, testActor); err != nil {
		t.Fatal(err)
	}
	if got := auditCount(t, s) - before; got != 2 {
		t.Errorf("an import of 5000 rows for one extension wrote %d audit records; want 2", got)
	}
	last, _ := s.Audit("100@example.com", 1)
	if len(last) != 1 || last[0].Detail != "line=2 rows=5000 created protection=off voicemail=off password=unchanged blocked=off" {
		t.Errorf("the extension's record: %+v", last)
	}
}

// TestStore_Import_detailSaysHowItEnds: the record of an extension says
// how the import leaves it, not what its rows passed through: a password
// set and set back is unchanged; a timed block kept shows its end.
func TestStore_Import_detailSaysHowItEnds(t *testing.T) {
	s, clock := openTestStore(t)
	_, h0 := protect(t, s, "100@example.com", "1234")
	h1 := testHash(t, "5678")
	ends := clock.Now().Add(time.Hour)
	if _, err := s.BlockUntil("100@example.com", ends, testActor); err != nil {
		t.Fatal(err)
	}
	rows := []ImportRow{
		{Line: 2, ID: "100@example.com", PasswordHash: h1},
		{Line: 3, ID: "100@example.com", PasswordHash: h0, Voicemail: ptr(true)},
	}
	if _, err := s.Import(rows, testActor); err != nil {
		t.Fatal(err)
	}
	last, _ := s.Audit("100@example.com", 1)
	want := "line=2 rows=2 protection=on voicemail=on password=unchanged blocked=on until=" + ends.UTC().Format(time.RFC3339)
	if len(last) != 1 || last[0].Detail != want {
		t.Errorf("record %+v; want detail %q", last, want)
	}
}

// TestStore_Import_unchangedIsNotWritten: rows that leave an extension as
// it was (here: voicemail on, then off again) write nothing, not even the
// time of a change, and leave no record.
func TestStore_Import_unchangedIsNotWritten(t *testing.T) {
	s, clock := openTestStore(t)
	protect(t, s, "100@example.com", "1234")
	before, err := s.Get("100@example.com")
	if err != nil {
		t.Fatal(err)
	}
	records := auditCount(t, s)
	clock.Advance(time.Hour)
	rows := []ImportRow{
		{Line: 2, ID: "100@example.com", Voicemail: ptr(!before.Voicemail)},
		{Line: 3, ID: "100@example.com", Voicemail: ptr(before.Voicemail)},
	}
	if _, err := s.Import(rows, testActor); err != nil {
		t.Fatal(err)
	}
	after, err := s.Get("100@example.com")
	if err != nil || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("updated at %v, was %v (%v); want it untouched", after.UpdatedAt, before.UpdatedAt, err)
	}
	if got := auditCount(t, s) - records; got != 1 {
		t.Errorf("%d new audit records; want 1, the import's own", got)
	}
}

// TestStore_Import_expiredTimerIsNotCleared: a timed block whose end has
// passed, though not yet swept, is no block the import ends: its record
// does not say timer=cleared.
func TestStore_Import_expiredTimerIsNotCleared(t *testing.T) {
	s, clock := openTestStore(t)
	protect(t, s, "100@example.com", "1234")
	if _, err := s.BlockUntil("100@example.com", clock.Now().Add(time.Hour), testActor); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if _, err := s.Import([]ImportRow{{Line: 2, ID: "100@example.com", Blocked: ptr(false)}}, testActor); err != nil {
		t.Fatal(err)
	}
	last, _ := s.Audit("100@example.com", 1)
	if len(last) != 1 || strings.Contains(last[0].Detail, "timer=cleared") || !strings.HasSuffix(last[0].Detail, "blocked=off") {
		t.Errorf("record %+v; want blocked=off and no timer cleared", last)
	}
}
