package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestStore_Check(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	writeFile(t, path, validDatabase(t))
	s := openTestPath(t, path, newFakeClock())

	if err := s.Check(); err != nil {
		t.Errorf("Check() on a sound file = %v; want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Errorf("read-only Check() = %v; want nil", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		damage  func(path string)
		wantMsg string
	}{
		// Open reads only the newest audit record; Check reads them all.
		{"audit record", func(path string) {
			updateRawBolt(t, path, func(tx *bolt.Tx) error {
				key := binary.BigEndian.AppendUint64(nil, 3)
				return tx.Bucket(auditBucket).Put(key, []byte("{garbage"))
			})
		}, "audit record"},
		// Open falls back to the second meta page; bbolt's check notices.
		{"first meta page", func(path string) {
			data := validDatabase(t)
			clear(data[:os.Getpagesize()])
			writeFile(t, path, data)
		}, "bbolt's check found: panic: assertion failed: page 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "phonelock.db")
			writeFile(t, path, validDatabase(t))
			tt.damage(path)

			s := openTestPath(t, path, newFakeClock())
			err := s.Check()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(fmt.Sprint(err), tt.wantMsg) {
				t.Errorf("Check() = %v; want ErrCorrupt mentioning %q", err, tt.wantMsg)
			}
		})
	}
}

func TestStore_Check_EmptyReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	writeRawBolt(t, path, func(*bolt.Tx) error { return nil })
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	if err := s.Check(); err != nil {
		t.Errorf("Check() on a fresh file = %v; want nil", err)
	}
}

// TestStore_Backup copies the file while another goroutine keeps
// changing it; the copy must open and check clean.
func TestStore_Backup(t *testing.T) {
	dir := t.TempDir()
	s := openTestPath(t, filepath.Join(dir, "phonelock.db"), newFakeClock())
	hash := testHash(t, "1234")
	for i := range 300 {
		mustSet(t, s, strconv.Itoa(i)+"@example.com", Settings{Protection: ptr(true), PasswordHash: hash})
	}

	stop, stopped := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Go(func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.SetBlocked(strconv.Itoa(i%300)+"@example.com", i%2 == 0, testActor); err != nil {
				t.Errorf("SetBlocked() during backup: %v", err)
				return
			}
			writes.Add(1)
		}
	})

	// Take copies while the writer runs, letting it write between them.
	var copies [][]byte
	for range 5 {
		var buf bytes.Buffer
		n, err := s.Backup(&buf)
		if err != nil || n != int64(buf.Len()) || n == 0 {
			t.Fatalf("Backup() = %d, %v; want the %d bytes written", n, err, buf.Len())
		}
		copies = append(copies, buf.Bytes())

		for next := writes.Load() + 10; writes.Load() < next && !isClosed(stopped); {
			time.Sleep(time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d writes ran during %d backups", writes.Load(), len(copies))

	for i, data := range copies {
		path := filepath.Join(dir, "copy"+strconv.Itoa(i)+".db")
		writeFile(t, path, data)
		c := openTestPath(t, path, newFakeClock())
		if err := c.Check(); err != nil {
			t.Errorf("copy %d: Check() = %v; want nil", i, err)
		}
		if list, err := c.List(); err != nil || len(list) != 300 {
			t.Errorf("copy %d: List() = %d extensions, %v; want 300", i, len(list), err)
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestStore_FileSize(t *testing.T) {
	s, _ := openTestStore(t)
	got, err := s.FileSize()
	info, statErr := os.Stat(s.Path())
	if err != nil || statErr != nil || got != info.Size() {
		t.Errorf("FileSize() = %d, %v; want %d", got, err, info.Size())
	}
}

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "phonelock.db")
	clock := newFakeClock()
	s := openTestPath(t, src, clock)
	seedHierarchy(t, s)
	rows := make([]ImportRow, 5000)
	for i := range rows {
		rows[i] = ImportRow{ID: strconv.Itoa(i) + "@a.example", Voicemail: ptr(true)}
	}
	if _, err := s.Import(rows, testActor); err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		if i%10 == 0 {
			if err := s.Delete(strconv.Itoa(i)+"@a.example", testActor); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantAudit, _ := s.Audit("", 1)

	// The daemon holds the file.
	start := time.Now()
	if err := Compact(src, filepath.Join(dir, "locked.db")); !errors.Is(err, ErrLocked) {
		t.Errorf("Compact(open file) error = %v; want ErrLocked", err)
	}
	t.Logf("Compact gave up on the lock after %v", time.Since(start))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(dir, "compact.db")
	if err := Compact(src, dst); err != nil {
		t.Fatalf("Compact() error = %v", err)
	}
	srcInfo, _ := os.Stat(src)
	dstInfo, err := os.Stat(dst)
	if err != nil || dstInfo.Mode().Perm() != 0o600 || dstInfo.Size() >= srcInfo.Size() {
		t.Errorf("compacted file = %v, %v; want mode 0600 and smaller than %d bytes",
			dstInfo, err, srcInfo.Size())
	}
	t.Logf("compacted %d bytes into %d", srcInfo.Size(), dstInfo.Size())

	c := openTestPath(t, dst, clock)
	if err := c.Check(); err != nil {
		t.Errorf("Check() on the compacted file = %v", err)
	}
	list, _ := c.List()
	org, _, users, _ := c.Owner("100@a.example")
	gotAudit, _ := c.Audit("", 1)
	if len(list) != 4500 || org != "acme" || len(users) != 1 || gotAudit[0].Seq != wantAudit[0].Seq {
		t.Errorf("compacted file holds %d extensions, owner %q %v, last audit %+v; "+
			"want 4500, acme [alice], %+v", len(list), org, users, gotAudit[0], wantAudit[0])
	}
	// The audit sequence carries on where it was.
	mustSet(t, c, "1@a.example", Settings{})
	if next, _ := c.Audit("", 1); next[0].Seq != wantAudit[0].Seq+1 {
		t.Errorf("next audit seq = %d; want %d", next[0].Seq, wantAudit[0].Seq+1)
	}
}

func TestCompact_Refuses(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "phonelock.db")
	s := openTestPath(t, src, newFakeClock())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing.db")
	writeFile(t, existing, []byte("keep me"))
	corrupt := filepath.Join(dir, "corrupt.db")
	writeFile(t, corrupt, randomBytes(64*1024, 7))

	tests := []struct {
		name     string
		src, dst string
		wantErr  error
		wantMsg  string
	}{
		{"dst exists", src, existing, nil, "already exists"},
		{"src missing", filepath.Join(dir, "missing.db"), filepath.Join(dir, "out1.db"),
			os.ErrNotExist, ""},
		{"src corrupt", corrupt, filepath.Join(dir, "out2.db"), ErrCorrupt, ""},
	}
	for _, tt := range tests {
		err := Compact(tt.src, tt.dst)
		if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) ||
			!strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: Compact() error = %v; want %v %q", tt.name, err, tt.wantErr, tt.wantMsg)
		}
		if tt.dst != existing {
			if _, err := os.Stat(tt.dst); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: Compact() left %s behind", tt.name, tt.dst)
			}
		}
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Errorf("Compact() changed the existing dst: %q", data)
	}
}
