package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestStore_Audit(t *testing.T) {
	s, clock := openTestStore(t)
	ids := []string{"100@example.com", "200@example.com"}
	for i := range 6 {
		clock.Advance(time.Second)
		mustSet(t, s, ids[i%2], Settings{Voicemail: ptr(i%4 < 2)})
	}

	tests := []struct {
		ext      string
		limit    int
		wantSeqs string
	}{
		{ext: "", limit: 0, wantSeqs: "[6 5 4 3 2 1]"},
		{ext: "", limit: 2, wantSeqs: "[6 5]"},
		{ext: "100@example.com", limit: 0, wantSeqs: "[5 3 1]"},
		{ext: "200@EXAMPLE.com", limit: 2, wantSeqs: "[6 4]"},
		{ext: "300@example.com", limit: 0, wantSeqs: "[]"},
	}
	for _, tt := range tests {
		records, err := s.Audit(tt.ext, tt.limit)
		if err != nil {
			t.Fatalf("Audit(%q, %d) error = %v", tt.ext, tt.limit, err)
		}
		seqs := make([]uint64, 0, len(records))
		for _, r := range records {
			seqs = append(seqs, r.Seq)
		}
		if got := fmt.Sprint(seqs); got != tt.wantSeqs {
			t.Errorf("Audit(%q, %d) seqs = %s; want %s", tt.ext, tt.limit, got, tt.wantSeqs)
		}
	}

	if _, err := s.Audit("bad id", 0); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Audit(malformed) error = %v; want ErrInvalidID", err)
	}
}

func TestStore_Audit_Record(t *testing.T) {
	s, clock := openTestStore(t)

	mustSet(t, s, "100@example.com", Settings{Voicemail: ptr(true)})

	got, err := s.Audit("", 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Audit() = %v, %v", got, err)
	}
	want := AuditRecord{
		Seq:       1,
		Time:      clock.Now(),
		Extension: "100@example.com",
		Action:    "set",
		Actor:     testActor.Name,
		Source:    testActor.Source,
		Addr:      testActor.Addr,
		Result:    "ok",
		Detail:    "created protection=off voicemail=on password=unchanged",
	}
	if got[0] != want {
		t.Errorf("Audit()[0] = %+v; want %+v", got[0], want)
	}
}

func TestStore_Audit_DefaultLimit(t *testing.T) {
	s, _ := openTestStore(t)
	for range 105 {
		if err := s.AppendAudit(AuditRecord{Extension: "100@example.com", Action: "test"}); err != nil {
			t.Fatal(err)
		}
	}

	for _, limit := range []int{0, -1} {
		got, err := s.Audit("", limit)
		if err != nil || len(got) != 100 || got[0].Seq != 105 {
			t.Errorf("Audit(%d) = %d records from %v, %v; want 100 from seq 105",
				limit, len(got), firstSeq(got), err)
		}
	}
}

func firstSeq(records []AuditRecord) any {
	if len(records) == 0 {
		return "none"
	}
	return records[0].Seq
}

func TestStore_Audit_HoldsNoSecret(t *testing.T) {
	s, _ := openTestStore(t)
	const id, password = "100@example.com", "4711"
	_, hash := protect(t, s, id, password)
	policy := AttemptPolicy{MaxFailures: 2, Lockout: time.Minute}
	for _, ok := range []bool{true, false, false, true} {
		if _, _, err := s.RecordAttempt(id, hash, ok, policy, testActor); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetBlocked(id, false, testActor); err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, id, Settings{PasswordHash: testHash(t, "0815")})
	if err := s.Delete(id, testActor); err != nil {
		t.Fatal(err)
	}

	records, err := s.Audit("", 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(records)
	if err != nil {
		t.Fatal(err)
	}

	if len(records) != 8 {
		t.Errorf("Audit() returned %d records; want 8", len(records))
	}
	assertNoSecret(t, string(data), hash, password)
	assertNoSecret(t, string(data), hash[7:], "$2a$")
}

func TestStore_AppendAudit(t *testing.T) {
	s, clock := openTestStore(t)
	mustSet(t, s, "100@example.com", Settings{})
	given := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

	recs := []AuditRecord{
		{Seq: 99, Extension: "100@Example.com", Action: "star11_denied_locked_out", Result: "locked_out"},
		{Time: given, Action: "test", Result: "ok"},
	}
	for _, rec := range recs {
		if err := s.AppendAudit(rec); err != nil {
			t.Fatalf("AppendAudit(%+v) error = %v", rec, err)
		}
	}
	if err := s.AppendAudit(AuditRecord{Extension: "nope"}); !errors.Is(err, ErrInvalidID) {
		t.Errorf("AppendAudit(malformed extension) error = %v; want ErrInvalidID", err)
	}

	got, err := s.Audit("", 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("Audit() = %+v, %v; want 3 records", got, err)
	}
	if got[0].Seq != 3 || !got[0].Time.Equal(given) {
		t.Errorf("newest record = %+v; want seq 3 at %v", got[0], given)
	}
	if got[1].Seq != 2 || !got[1].Time.Equal(clock.Now()) || got[1].Extension != "100@example.com" {
		t.Errorf("second record = %+v; want seq 2 at %v for 100@example.com", got[1], clock.Now())
	}
}
