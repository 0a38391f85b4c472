package metrics

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/phonelock/phonelock/store"
)

// TestObserveStore_refusalsAreNotErrors: a missing record or a taken id is
// the store answering, and must not raise the critical store alert; a
// failing database must.
func TestObserveStore_refusalsAreNotErrors(t *testing.T) {
	m := New(prometheus.NewRegistry(), "test")
	for _, err := range []error{
		nil,
		fmt.Errorf("get 1001@example.com: %w", store.ErrNotFound),
		fmt.Errorf("add user alice: %w", store.ErrExists),
		fmt.Errorf("record attempt: %w", store.ErrStalePassword),
		&store.ImportError{Line: 3, Err: store.ErrInvalidID},
	} {
		m.ObserveStore("get", time.Now(), err)
	}
	if got := testutil.ToFloat64(m.StoreErrors.WithLabelValues("get")); got != 0 {
		t.Errorf("refusals counted as %v store errors, want 0", got)
	}

	m.ObserveStore("get", time.Now(), fmt.Errorf("get: %w", store.ErrCorrupt))
	m.ObserveStore("get", time.Now(), errors.New("read tx: input/output error"))
	if got := testutil.ToFloat64(m.StoreErrors.WithLabelValues("get")); got != 2 {
		t.Errorf("failures counted as %v store errors, want 2", got)
	}
	if got := testutil.CollectAndCount(m.StoreDuration); got != 1 {
		t.Errorf("duration series = %d, want 1 (every operation is timed)", got)
	}
}
