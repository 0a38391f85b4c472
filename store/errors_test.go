package store

import (
	"errors"
	"strings"
	"testing"
)

// TestQuoteInput: a refused input is quoted whole when short, and cut to
// a recognisable head (whole characters) with its length when long, so that
// a huge input cannot make a huge error message.
func TestQuoteInput(t *testing.T) {
	if got := QuoteInput("1001@example.com"); got != `"1001@example.com"` {
		t.Errorf("short input: %s", got)
	}
	long := strings.Repeat("é", 1000) // two bytes each: a cut may not split one
	got := QuoteInput(long)
	if !strings.HasPrefix(got, `"éé`) || !strings.HasSuffix(got, `"… (2000 bytes)`) || len(got) > 2*maxQuotedInput {
		t.Errorf("long input quoted as %s", got)
	}

	_, err := ParseID(strings.Repeat("\x7f", 64<<20))
	if !errors.Is(err, ErrInvalidID) || len(err.Error()) > 1000 {
		t.Errorf("a 64 MiB id made a %d-byte error", len(err.Error()))
	}
}

func TestRefused(t *testing.T) {
	if !Refused(ErrNotFound) || !Refused(&ImportError{Line: 2, Err: ErrInvalidID}) {
		t.Error("not found and a bad import row are refusals")
	}
	if Refused(ErrCorrupt) || Refused(errors.New("disk full")) || Refused(nil) {
		t.Error("a damaged file, a failing disk and no error are not refusals")
	}
}
