package store

import (
	"errors"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	long64 := strings.Repeat("1", 64)
	long253 := strings.Repeat("a", 253)

	tests := []struct {
		in   string
		want string // empty: ErrInvalidID expected
	}{
		{in: "100@example.com", want: "100@example.com"},
		{in: "100@Example.COM", want: "100@example.com"},
		{in: "Alice.B_c+d-e@PBX-1.local", want: "Alice.B_c+d-e@pbx-1.local"},
		{in: "1@x", want: "1@x"},
		{in: "100@192.168.0.10", want: "100@192.168.0.10"},
		{in: long64 + "@x", want: long64 + "@x"},
		{in: "1@" + long253, want: "1@" + long253},
		{in: ""},
		{in: "100"},
		{in: "@example.com"},
		{in: "100@"},
		{in: "100@@example.com"},
		{in: "1@2@example.com"},
		{in: "10 0@example.com"},
		{in: " 100@example.com"},
		{in: "100@example.com "},
		{in: "*11@example.com"},
		{in: "100@exa_mple.com"},
		{in: "100@exa+mple.com"},
		{in: "1ü@example.com"},
		{in: long64 + "1@x"},
		{in: "1@" + long253 + "a"},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidID) {
				t.Errorf("ParseID(%q) = %q, %v; want error wrapping ErrInvalidID", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseID(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseID_ErrorSaysWhat(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{in: "100", want: `invalid extension id "100": want NUMBER@DOMAIN with exactly one @`},
		{in: "1 0@x", want: `invalid extension id "1 0@x": number must be 1 to 64 characters`},
		{in: "10@x_y", want: `invalid extension id "10@x_y": domain must be 1 to 253 characters`},
	}
	for _, tt := range tests {
		_, err := ParseID(tt.in)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseID(%q) error = %v; want prefix %q", tt.in, err, tt.want)
		}
	}
}

func TestParseID_NormalIDDoesNotAllocate(t *testing.T) {
	got := testing.AllocsPerRun(100, func() {
		_, _ = normalizeID("100@example.com")
	})
	if got != 0 {
		t.Errorf("normalizeID allocations = %v; want 0", got)
	}
}
