package policy

import (
	"errors"
	"testing"
)

func TestDecide(t *testing.T) {
	open := Extension{}
	blocked := Extension{Protection: true, Blocked: true}
	blockedVM := Extension{Protection: true, Blocked: true, Voicemail: true}
	staleFlag := Extension{Protection: false, Blocked: true, Voicemail: true}
	protected := Extension{Protection: true, Voicemail: true}

	tests := []struct {
		name string
		call Call
		want Action
	}{
		{"unknown to unknown", Call{}, Allow},
		{"protected but unrestricted", Call{Caller: protected, Callee: protected}, Allow},
		{"blocked caller", Call{Caller: blocked}, BlockOutgoing},
		{"blocked caller to blocked callee", Call{Caller: blocked, Callee: blockedVM}, BlockOutgoing},
		{"blocked caller dials feature code", Call{FeatureCode: true, Caller: blocked}, Dialog},
		{"blocked caller dials emergency", Call{Emergency: true, Caller: blocked}, Allow},
		{"feature code, unknown caller", Call{FeatureCode: true}, Dialog},
		{"callee blocked with voicemail", Call{Callee: blockedVM}, Voicemail},
		{"callee blocked without voicemail", Call{Callee: blocked}, BlockIncoming},
		{"protection off ignores blocked flag", Call{Caller: staleFlag, Callee: staleFlag}, Allow},
		{"store failed, fail open", Call{StoreFailed: true, Caller: blocked}, Allow},
		{"store failed, fail closed", Call{StoreFailed: true, FailClosed: true}, Refuse},
		{"store failed, fail closed, emergency", Call{StoreFailed: true, FailClosed: true, Emergency: true}, Allow},
		{"store failed, fail closed, feature code", Call{StoreFailed: true, FailClosed: true, FeatureCode: true}, Dialog},
		{"open caller, open callee", Call{Caller: open, Callee: open}, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.call); got != tt.want {
				t.Errorf("Decide(%+v) = %v, want %v", tt.call, got, tt.want)
			}
		})
	}
}

// TestDecide_everyCombination walks all inputs and checks the rules as
// invariants, so no combination is left to chance.
func TestDecide_everyCombination(t *testing.T) {
	for bits := 0; bits < 1<<10; bits++ {
		bit := func(i int) bool { return bits&(1<<i) != 0 }
		c := Call{
			FeatureCode: bit(0),
			Emergency:   bit(1),
			Caller:      Extension{Protection: bit(2), Blocked: bit(3), Voicemail: bit(4)},
			Callee:      Extension{Protection: bit(5), Blocked: bit(6), Voicemail: bit(7)},
			StoreFailed: bit(8),
			FailClosed:  bit(9),
		}
		got := Decide(c)

		switch {
		case c.Emergency && got != Allow:
			t.Fatalf("%+v: emergency call got %v, want allow", c, got)
		case !c.Emergency && c.FeatureCode && got != Dialog:
			t.Fatalf("%+v: feature code got %v, want dialog", c, got)
		case got == BlockOutgoing && !c.Caller.IsBlocked():
			t.Fatalf("%+v: barred a caller that is not blocked", c)
		case (got == Voicemail || got == BlockIncoming) && !c.Callee.IsBlocked():
			t.Fatalf("%+v: barred a callee that is not blocked", c)
		case got == Voicemail && !c.Callee.Voicemail:
			t.Fatalf("%+v: voicemail for an extension without it", c)
		case got == Refuse && !(c.StoreFailed && c.FailClosed):
			t.Fatalf("%+v: refused without a store failure", c)
		case got == Allow && !c.Emergency && !c.StoreFailed &&
			(c.Caller.IsBlocked() || c.Callee.IsBlocked()):
			t.Fatalf("%+v: allowed a call involving a blocked extension", c)
		}
	}
}

func TestAction_String(t *testing.T) {
	tests := map[Action]string{
		Allow: "allow", Dialog: "dialog", BlockOutgoing: "block_outgoing",
		Voicemail: "voicemail", BlockIncoming: "block_incoming", Refuse: "refuse",
		0: "unknown", 200: "unknown",
	}
	for a, want := range tests {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", a, got, want)
		}
	}
}

func TestDialogStart(t *testing.T) {
	tests := []struct {
		name   string
		caller Caller
		want   Start
	}{
		{"unknown", Caller{}, NotAvailable},
		{"protection off", Caller{Known: true, PasswordSet: true}, NotAvailable},
		{"no password", Caller{Known: true, Protection: true}, NotAvailable},
		{"locked out", Caller{Known: true, Protection: true, PasswordSet: true, LockedOut: true}, LockedOut},
		{"ready", Caller{Known: true, Protection: true, PasswordSet: true}, AskPassword},
		{"protection off wins over lockout", Caller{Known: true, PasswordSet: true, LockedOut: true}, NotAvailable},
	}
	for _, tt := range tests {
		if got := DialogStart(tt.caller); got != tt.want {
			t.Errorf("%s: DialogStart(%+v) = %v, want %v", tt.name, tt.caller, got, tt.want)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"123", nil},
		{"123456789012", nil},
		{"000", nil},
		{"", ErrPasswordFormat},
		{"12", ErrPasswordFormat},
		{"1234567890123", ErrPasswordFormat},
		{"12a4", ErrPasswordFormat},
		{"12 34", ErrPasswordFormat},
		{" 1234", ErrPasswordFormat},
		{"1234\n", ErrPasswordFormat},
		{"١٢٣٤", ErrPasswordFormat}, // Arabic-Indic digits are not 0-9
		{"*123", ErrPasswordFormat},
	}
	for _, tt := range tests {
		if got := ValidatePassword(tt.in); !errors.Is(got, tt.want) {
			t.Errorf("ValidatePassword(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNumbers_Contains(t *testing.T) {
	n := Numbers{"112", "911"}
	for in, want := range map[string]bool{"112": true, "911": true, "1120": false, "": false, "11": false} {
		if got := n.Contains(in); got != want {
			t.Errorf("Contains(%q) = %v, want %v", in, got, want)
		}
	}
}
