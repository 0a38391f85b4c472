package store

import (
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkStore_GetPair measures the lookup made on every call, with both
// extensions present among a thousand.
func BenchmarkStore_GetPair(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "phonelock.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	hash := testHash(b, "1234")
	for i := range 1000 {
		id := strconv.Itoa(i) + "@example.com"
		mustSet(b, s, id, Settings{Protection: ptr(true), PasswordHash: hash, Voicemail: ptr(true)})
	}

	b.ReportAllocs()
	for b.Loop() {
		_, _, callerFound, calleeFound, err := s.GetPair("100@example.com", "200@example.com")
		if err != nil || !callerFound || !calleeFound {
			b.Fatalf("GetPair() = %v, %v, %v", callerFound, calleeFound, err)
		}
	}
}

// BenchmarkStore_GetPairUnknown measures the common call between
// extensions the store does not know.
func BenchmarkStore_GetPairUnknown(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "phonelock.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, _, err := s.GetPair("100@example.com", "200@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckPassword measures one password check at PasswordCost,
// the figure PasswordCost's comment quotes.
func BenchmarkCheckPassword(b *testing.B) {
	hash, err := HashPassword("123456")
	if err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	for b.Loop() {
		if !CheckPassword(hash, "123456") {
			b.Fatal("CheckPassword() = false")
		}
	}
}
