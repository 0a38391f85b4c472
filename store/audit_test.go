package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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

func TestStore_AuditQuery(t *testing.T) {
	s, clock := openTestStore(t)
	start := clock.Now()
	steps := []func(){
		func() { mustSet(t, s, "100@example.com", Settings{}) },
		func() {
			if _, err := s.AddServiceProvider(ServiceProvider{ID: "telco"}, testActor); err != nil {
				t.Fatal(err)
			}
		},
		func() { mustSet(t, s, "200@example.com", Settings{}) },
		func() { mustSet(t, s, "300@example.com", Settings{}) },
		func() { mustSet(t, s, "100@example.com", Settings{Voicemail: ptr(true)}) },
	}
	for _, step := range steps {
		step()
		clock.Advance(time.Second)
	}

	tests := []struct {
		name     string
		q        AuditQuery
		wantSeqs string
	}{
		{"all", AuditQuery{}, "[5 4 3 2 1]"},
		{"hide hierarchy", AuditQuery{HideHierarchy: true}, "[5 4 3 1]"},
		{"extensions", AuditQuery{Extensions: []string{"100@EXAMPLE.com", "300@example.com"}}, "[5 4 1]"},
		{"no extensions", AuditQuery{Extensions: []string{}}, "[]"},
		{"since", AuditQuery{Since: start.Add(2 * time.Second)}, "[5 4 3]"},
		{"since and limit", AuditQuery{Since: start.Add(time.Second), Limit: 2}, "[5 4]"},
		{"since, extension", AuditQuery{Since: start.Add(time.Second),
			Extensions: []string{"100@example.com"}}, "[5]"},
		{"limit", AuditQuery{Limit: 1}, "[5]"},
		{"negative limit", AuditQuery{Limit: -1}, "[5 4 3 2 1]"},
	}
	for _, tt := range tests {
		records, err := s.AuditQuery(tt.q)
		if err != nil {
			t.Errorf("%s: AuditQuery() error = %v", tt.name, err)
			continue
		}
		seqs := make([]uint64, 0, len(records))
		for _, r := range records {
			seqs = append(seqs, r.Seq)
		}
		if got := fmt.Sprint(seqs); got != tt.wantSeqs {
			t.Errorf("%s: AuditQuery() seqs = %s; want %s", tt.name, got, tt.wantSeqs)
		}
	}

	q := AuditQuery{Extensions: []string{"100@example.com", "nope"}}
	if _, err := s.AuditQuery(q); !errors.Is(err, ErrInvalidID) {
		t.Errorf("AuditQuery(malformed extension) error = %v; want ErrInvalidID", err)
	}
}

func TestStore_AuditQuery_MaxLimit(t *testing.T) {
	s, clock := openTestStore(t)
	appendRecords(t, s, maxAuditLimit+5, clock.Now(), 0)

	for _, limit := range []int{maxAuditLimit, maxAuditLimit + 1, 1 << 30} {
		got, err := s.AuditQuery(AuditQuery{Limit: limit})
		if err != nil || len(got) != maxAuditLimit {
			t.Errorf("AuditQuery(limit %d) = %d records, %v; want %d", limit, len(got), err, maxAuditLimit)
		}
	}
	// Audit keeps having no maximum.
	if got := auditCount(t, s); got != maxAuditLimit+5 {
		t.Errorf("Audit() = %d records; want all %d", got, maxAuditLimit+5)
	}
}

// appendRecords appends n audit records in one transaction, the first at
// time start and each next one step later.
func appendRecords(t *testing.T, s *Store, n int, start time.Time, step time.Duration) {
	t.Helper()
	err := s.update(func(tx *bolt.Tx) error {
		for i := range n {
			at := start.Add(time.Duration(i) * step)
			if err := appendAudit(tx, at, "100@example.com", "test", testActor, "ok", ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStore_PruneAudit(t *testing.T) {
	s, clock := openTestStore(t)
	start := clock.Now()
	appendRecords(t, s, 10, start, time.Second)
	before := start.Add(7 * time.Second)

	// Each transaction deletes at most the batch, oldest first.
	batches := []struct {
		wantN    int
		wantMore bool
	}{
		{3, true},
		{3, true},
		{1, false},
		{0, false},
	}
	for i, b := range batches {
		n, more, err := s.pruneAuditBatch(before, 3)
		if err != nil || n != b.wantN || more != b.wantMore {
			t.Errorf("batch %d: pruneAuditBatch() = %d, %v, %v; want %d, %v",
				i, n, more, err, b.wantN, b.wantMore)
		}
	}
	records, _ := s.Audit("", 0)
	if got := fmt.Sprint(seqsOf(records)); got != "[10 9 8]" {
		t.Errorf("after pruning, seqs = %s; want [10 9 8]", got)
	}

	// PruneAudit loops over the batches; new records keep counting on.
	appendRecords(t, s, 5, start.Add(20*time.Second), time.Second)
	n, err := s.PruneAudit(start.Add(22*time.Second), 2)
	if err != nil || n != 5 {
		t.Errorf("PruneAudit() = %d, %v; want 5", n, err)
	}
	records, _ = s.Audit("", 0)
	if got := fmt.Sprint(seqsOf(records)); got != "[15 14 13]" {
		t.Errorf("after PruneAudit, seqs = %s; want [15 14 13]", got)
	}
	if n, err := s.PruneAudit(start.Add(time.Hour), 0); err != nil || n != 3 {
		t.Errorf("PruneAudit(all, default batch) = %d, %v; want 3", n, err)
	}
}

func seqsOf(records []AuditRecord) []uint64 {
	seqs := make([]uint64, 0, len(records))
	for _, r := range records {
		seqs = append(seqs, r.Seq)
	}
	return seqs
}
