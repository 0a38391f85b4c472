package store

import (
	"fmt"
	"strings"
)

// Length limits of the two halves of an extension id.
const (
	maxNumberLen = 64
	maxDomainLen = 253
)

// ParseID validates an extension id of the form NUMBER@DOMAIN and returns
// it normalised: the domain lower-cased, the number kept as it is (SIP user
// parts are case-sensitive). NUMBER is 1 to 64 characters of 0-9 A-Z a-z
// . _ + -, DOMAIN is 1 to 253 characters of 0-9 A-Z a-z . -, and there is
// exactly one '@'. Any other input returns an error wrapping ErrInvalidID
// that says what is wrong.
func ParseID(s string) (string, error) {
	id, problem := normalizeID(s)
	if problem != "" {
		return "", fmt.Errorf("%w %s: %s", ErrInvalidID, QuoteInput(s), problem)
	}
	return id, nil
}

// normalizeID is ParseID without the error value, for the hot path: it
// returns the normalised id, or a description of the problem. It allocates
// only when the domain holds upper-case letters.
func normalizeID(s string) (id, problem string) {
	number, domain, found := strings.Cut(s, "@")
	if !found || strings.Contains(domain, "@") {
		return "", "want NUMBER@DOMAIN with exactly one @"
	}

	if len(number) == 0 || len(number) > maxNumberLen || !allBytes(number, isNumberByte) {
		return "", "number must be 1 to 64 characters of 0-9 A-Z a-z . _ + -"
	}
	if len(domain) == 0 || len(domain) > maxDomainLen || !allBytes(domain, isDomainByte) {
		return "", "domain must be 1 to 253 characters of 0-9 A-Z a-z . -"
	}

	if !allBytes(domain, isNotUpper) {
		return number + "@" + strings.ToLower(domain), ""
	}
	return s, ""
}

// allBytes reports whether ok holds for every byte of s.
func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isNumberByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '-'
}

func isNotUpper(c byte) bool {
	return c < 'A' || c > 'Z'
}
