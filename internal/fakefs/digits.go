package fakefs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// digitsRequest is a parsed play_and_get_digits argument:
// <min> <max> <tries> <timeout_ms> <terminators> <file> <invalid_file>
// [<var_name> [<regexp> [<digit_timeout_ms>]]].
type digitsRequest struct {
	min, max, tries int
	terminators     string
	varName         string
	re              *regexp.Regexp
}

// parseDigitsRequest parses a play_and_get_digits argument. Terminators
// "none" means no terminator. The regexp is matched unanchored, like the
// PCRE search FreeSWITCH runs.
func parseDigitsRequest(arg string) (digitsRequest, error) {
	f := strings.Fields(arg)
	if len(f) < 7 {
		return digitsRequest{}, fmt.Errorf("play_and_get_digits %q: want at least 7 arguments", arg)
	}

	var req digitsRequest
	var err error
	for i, p := range []*int{&req.min, &req.max, &req.tries} {
		if *p, err = strconv.Atoi(f[i]); err != nil {
			return digitsRequest{}, fmt.Errorf("play_and_get_digits %q: %w", arg, err)
		}
	}
	if _, err := strconv.Atoi(f[3]); err != nil {
		return digitsRequest{}, fmt.Errorf("play_and_get_digits %q: timeout: %w", arg, err)
	}
	req.tries = max(req.tries, 1)

	if f[4] != "none" {
		req.terminators = f[4]
	}
	if len(f) > 7 {
		req.varName = f[7]
	}
	if len(f) > 8 {
		if req.re, err = regexp.Compile(f[8]); err != nil {
			return digitsRequest{}, fmt.Errorf("play_and_get_digits %q: %w", arg, err)
		}
	}
	return req, nil
}

// keying is what the caller pressed at one try of a prompt.
type keying struct {
	keys       string // every key pressed, terminator included
	digits     string // the digits collected
	terminator string // the terminator that ended the input, if any
}

// collect plays entry against the prompt: keys up to a terminator or until
// max digits are in.
func (r digitsRequest) collect(entry string) keying {
	var k keying
	for _, c := range entry {
		key := string(c)
		k.keys += key
		if strings.Contains(r.terminators, key) {
			k.terminator = key
			return k
		}
		k.digits += key
		if r.max > 0 && len(k.digits) >= r.max {
			return k
		}
	}
	return k
}

// partial returns the keys of entry a caller gets in before hanging up: up
// to any terminator, at most max.
func (r digitsRequest) partial(entry string) string {
	return r.collect(entry).digits
}

// verdict is how one try of a prompt ended.
type verdict int

const (
	verdictOK       verdict = iota // enough digits, pattern matched
	verdictNone                    // silence until the timeout
	verdictShort                   // fewer than min digits
	verdictMismatch                // the pattern did not match
)

// judge decides how a try ended.
func (r digitsRequest) judge(k keying) verdict {
	switch {
	case k.digits == "" && r.min > 0:
		return verdictNone
	case len(k.digits) < r.min:
		return verdictShort
	case r.re != nil && !r.re.MatchString(k.digits):
		return verdictMismatch
	}
	return verdictOK
}

// digitsRun is the progress of one play_and_get_digits execution.
type digitsRun struct {
	req     digitsRequest
	try     int
	partial string // digits keyed before the caller hung up
}

// startDigits plays the first prompt; the caller's keys come when it ends.
// A malformed argument ends the application at once, as FreeSWITCH does.
func (s *session) startDigits(x *execution) {
	req, err := parseDigitsRequest(x.arg)
	if err != nil {
		s.complete(x, noResponse)
		return
	}
	x.digits = &digitsRun{req: req}
	s.appTimer.set(s.call.PlayTime)
}

// digitsTry takes the caller's next entry for the prompt. The application
// completes on success or after the last try; there is no event per try
// (recording 06c).
func (s *session) digitsTry(x *execution) {
	d := x.digits
	d.try++
	k := d.req.collect(s.nextEntry())
	s.pressKeys(k.keys)

	v := d.req.judge(k)
	s.storeDigits(d.req, k, v)
	if v == verdictOK || d.try >= d.req.tries {
		s.complete(x, noResponse)
		return
	}
	s.appTimer.set(s.call.PlayTime)
}

// storeDigits sets the variables a try leaves, as recorded in 01 and 06a-d:
// too few digits stay in the variable with read_result failure; silence
// leaves the variable unset; a pattern mismatch moves the digits to
// <var>_invalid while read_result says success.
func (s *session) storeDigits(req digitsRequest, k keying, v verdict) {
	if k.terminator != "" {
		s.ch.vars.set("read_terminator_used", k.terminator)
	}

	result := "success"
	if v == verdictNone || v == verdictShort {
		result = "failure"
	}
	s.ch.vars.set("read_result", result)
	if req.varName == "" {
		return
	}

	if v == verdictMismatch {
		s.ch.vars.unset(req.varName)
		s.ch.vars.set(req.varName+"_invalid", k.digits)
		return
	}
	s.ch.vars.set(req.varName, k.digits)
}

// abandonDigits completes a prompt cut short by a hangup. Digits keyed so
// far stay in the variable with read_result failure (recording 05a); with
// none, neither is set (recording 10b).
func (s *session) abandonDigits(x *execution) {
	if d := x.digits; d != nil && d.partial != "" {
		s.ch.vars.set("read_result", "failure")
		if d.req.varName != "" {
			s.ch.vars.set(d.req.varName, d.partial)
		}
	}
	s.complete(x, noResponse)
}

// nextEntry takes the caller's next scripted entry; silence once they run
// out.
func (s *session) nextEntry() string {
	if len(s.entries) == 0 {
		return ""
	}
	entry := s.entries[0]
	s.entries = s.entries[1:]
	return entry
}

// pressKeys emits one DTMF event per key and remembers the keys for the call
// record.
func (s *session) pressKeys(keys string) {
	source := "UNKNOWN"
	if s.ch.sip {
		source = "APP"
	}
	for _, c := range keys {
		s.dialed += string(c)
		s.emit("DTMF",
			header{"DTMF-Digit", string(c)},
			header{"DTMF-Duration", "2000"},
			header{"DTMF-Source", source},
		)
	}
}

// itoa64 formats n in decimal.
func itoa64(n int64) string {
	return strconv.FormatInt(n, 10)
}
