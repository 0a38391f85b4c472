package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// table is a bucket of JSON records stored under their ids, what its
// records are called in messages, and the prefix of the token roles that
// name them (also their audit actions' prefix).
type table struct {
	bucket []byte
	kind   string
	role   string
	// parseID validates an id of the table's records.
	parseID func(string) error
}

// The tables of the hierarchy and of the tokens.
var (
	spTable    = table{bucket: serviceProvidersBucket, kind: "service provider", role: roleSP, parseID: parseName}
	orgTable   = table{bucket: organizationsBucket, kind: "organization", role: roleOrg, parseID: parseName}
	userTable  = table{bucket: usersBucket, kind: "user", role: roleUser, parseID: parseUserID}
	tokenTable = table{bucket: tokensBucket, kind: "token"}
)

// keyed is a record that knows the key it is stored under.
type keyed interface {
	key() string
}

// getRecord reads the record stored under id in table t. A missing record,
// or a missing bucket (an older file opened read-only), reads as not
// found.
func getRecord[T keyed](tx *bolt.Tx, t table, id string) (T, bool, error) {
	var zero T
	b := tx.Bucket(t.bucket)
	if b == nil {
		return zero, false, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return zero, false, nil
	}

	rec, err := decodeRecord[T](t, []byte(id), v)
	return rec, err == nil, err
}

// listRecords reads all records of table t, sorted by key.
func listRecords[T keyed](tx *bolt.Tx, t table) ([]T, error) {
	b := tx.Bucket(t.bucket)
	if b == nil {
		return nil, nil
	}

	var list []T
	err := b.ForEach(func(k, v []byte) error {
		rec, err := decodeRecord[T](t, k, v)
		if err != nil {
			return err
		}
		list = append(list, rec)
		return nil
	})
	return list, err
}

// putRecord writes rec into table t under its key.
func putRecord(tx *bolt.Tx, t table, rec keyed) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode %s: %w", t.kind, err)
	}
	if err := tx.Bucket(t.bucket).Put([]byte(rec.key()), v); err != nil {
		return fmt.Errorf("write %s: %w", t.kind, err)
	}
	return nil
}

// deleteRecord removes the record stored under id from table t, returning
// an error wrapping ErrNotFound if there is none.
func deleteRecord(tx *bolt.Tx, t table, id string) error {
	b := tx.Bucket(t.bucket)
	if b.Get([]byte(id)) == nil {
		return notFound(t.kind, id)
	}
	if err := b.Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete %s: %w", t.kind, err)
	}
	return nil
}

// hasRecord reports whether table t holds a record under id.
func hasRecord(tx *bolt.Tx, t table, id string) bool {
	b := tx.Bucket(t.bucket)
	return b != nil && b.Get([]byte(id)) != nil
}

// decodeRecord decodes the record v of table t stored under key, which
// must be the record's own key.
func decodeRecord[T keyed](t table, key, v []byte) (T, error) {
	var rec T
	if err := json.Unmarshal(v, &rec); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: %s record %q: %v", ErrCorrupt, t.kind, key, err)
	}
	if rec.key() != string(key) {
		var zero T
		return zero, fmt.Errorf("%w: %s record %q holds id %q", ErrCorrupt, t.kind, key, rec.key())
	}
	return rec, nil
}

// checkHierarchy decodes every hierarchy and token record in tx, for
// checkContent; these tables stay small.
func checkHierarchy(tx *bolt.Tx) error {
	if _, err := listRecords[ServiceProvider](tx, spTable); err != nil {
		return err
	}
	if _, err := listRecords[Organization](tx, orgTable); err != nil {
		return err
	}
	if _, err := listRecords[User](tx, userTable); err != nil {
		return err
	}
	_, err := listRecords[tokenRecord](tx, tokenTable)
	return err
}
