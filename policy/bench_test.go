package policy

import "testing"

var sink Action

// BenchmarkDecide shows the per-call decision costs nanoseconds and
// allocates nothing; TestDecide_allocations enforces the latter.
func BenchmarkDecide(b *testing.B) {
	emergency := Numbers{"112", "911"}
	callee := Extension{Protection: true, Blocked: true, Voicemail: true}
	b.ReportAllocs()
	for b.Loop() {
		sink = Decide(Call{
			Emergency: emergency.Contains("1002"),
			Callee:    callee,
		})
	}
}

func TestDecide_allocations(t *testing.T) {
	emergency := Numbers{"112", "911"}
	allocs := testing.AllocsPerRun(1000, func() {
		sink = Decide(Call{Emergency: emergency.Contains("1002"), Caller: Extension{Protection: true}})
	})
	if allocs != 0 {
		t.Fatalf("Decide allocates %v times per call, want 0", allocs)
	}
}
