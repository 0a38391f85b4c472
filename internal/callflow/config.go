package callflow

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phonelock/phonelock/policy"
	"github.com/phonelock/phonelock/store"
)

// Prompts are the sounds the call flows play: paths FreeSWITCH's playback
// understands (relative to its sound directory, absolute, or tone_stream://).
type Prompts struct {
	EnterPassword   string // asks for the password
	WrongPassword   string // the password was wrong, or nothing usable was entered
	NowBlocked      string // the terminal is blocked now
	NowUnrestricted string // the terminal is unrestricted now
	NotAvailable    string // the feature is not available for this caller
	LockedOut       string // too many wrong passwords: try again later
	Goodbye         string // tries used up
	OutgoingBlocked string // this phone is blocked
	IncomingBlocked string // the called phone is blocked; "" plays nothing
}

// Config is how the call flows behave. DefaultConfig gives working values.
type Config struct {
	// FeatureCode is the number dialed to block or unblock the terminal.
	FeatureCode string
	// Emergency numbers are always allowed, even from a blocked terminal.
	Emergency policy.Numbers
	// FailClosed refuses calls when the store cannot be read; the default
	// (false) allows them.
	FailClosed bool
	// TrustCallerID identifies an unauthenticated caller by its caller ID
	// number. Anyone can forge a caller ID: leave it off unless every call
	// reaching the socket comes from a trusted source.
	TrustCallerID bool
	// Lockout is the policy for repeated wrong passwords across calls.
	Lockout store.AttemptPolicy
	// TriesPerCall is how many passwords one call may try.
	TriesPerCall int
	// DigitTimeout is the wait for each digit of the password, the first
	// one counted from the end of the prompt.
	DigitTimeout time.Duration
	// StepTimeout bounds quick steps (answer, unset, hangup).
	StepTimeout time.Duration
	// PromptTimeout bounds the playing of one prompt.
	PromptTimeout time.Duration
	// VoicemailApp and VoicemailArgs are the application that takes a call
	// for a blocked extension with voicemail; {number} and {domain} in the
	// arguments stand for the called extension. The default suits
	// FreeSWITCH's vanilla configuration.
	VoicemailApp, VoicemailArgs string
	// VoicemailMaxDuration bounds how long a call may stay in voicemail.
	VoicemailMaxDuration time.Duration
	// OutgoingCause, IncomingCause and FailClosedCause are the hangup
	// causes for refused calls.
	OutgoingCause, IncomingCause, FailClosedCause string
	// Prompts are the sounds played.
	Prompts Prompts
}

// DefaultConfig returns the configuration phonelock runs with out of the box.
func DefaultConfig() Config {
	return Config{
		FeatureCode:          "*11",
		Emergency:            policy.Numbers{"112", "911"},
		Lockout:              store.AttemptPolicy{MaxFailures: 5, Lockout: 15 * time.Minute},
		TriesPerCall:         3,
		DigitTimeout:         5 * time.Second,
		StepTimeout:          5 * time.Second,
		PromptTimeout:        60 * time.Second,
		VoicemailApp:         "voicemail",
		VoicemailArgs:        "default {domain} {number}",
		VoicemailMaxDuration: 30 * time.Minute,
		OutgoingCause:        "OUTGOING_CALL_BARRED",
		IncomingCause:        "INCOMING_CALL_BARRED",
		FailClosedCause:      "SERVICE_UNAVAILABLE",
		Prompts: Prompts{
			EnterPassword: "ivr/ivr-please_enter_pin_followed_by_pound.wav",
			WrongPassword: "voicemail/vm-fail_auth.wav",
			// Falling and rising three-tone sequences: blocked, unrestricted.
			NowBlocked:      "tone_stream://%(200,50,880);%(200,50,660);%(400,0,440)",
			NowUnrestricted: "tone_stream://%(200,50,440);%(200,50,660);%(400,0,880)",
			NotAvailable:    "tone_stream://%(500,500,480,620);loops=2",
			LockedOut:       "tone_stream://%(250,250,480,620);loops=4",
			Goodbye:         "voicemail/vm-goodbye.wav",
			// The special information tone: "call cannot be completed".
			OutgoingBlocked: "tone_stream://%(330,0,950);%(330,0,1400);%(330,0,1800)",
			IncomingBlocked: "tone_stream://%(330,0,950);%(330,0,1400);%(330,0,1800)",
		},
	}
}

// Validate reports the first setting that cannot work, naming it.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}

	check(c.FeatureCode != "" && !strings.ContainsAny(c.FeatureCode, " \t\n"),
		"feature code %q must be a dialable string without spaces", c.FeatureCode)
	for _, n := range c.Emergency {
		check(n != "" && n != c.FeatureCode, "emergency number %q must be non-empty and differ from the feature code", n)
	}
	check(c.Lockout.MaxFailures >= 1, "lockout failures must be at least 1, got %d", c.Lockout.MaxFailures)
	check(c.Lockout.Lockout > 0, "lockout duration must be positive, got %s", c.Lockout.Lockout)
	check(c.TriesPerCall >= 1 && c.TriesPerCall <= 10, "tries per call must be 1 to 10, got %d", c.TriesPerCall)
	check(c.DigitTimeout > 0, "digit timeout must be positive")
	check(c.StepTimeout > 0 && c.PromptTimeout > 0 && c.VoicemailMaxDuration > 0, "step, prompt and voicemail timeouts must be positive")
	check(c.VoicemailApp != "" && !strings.ContainsAny(c.VoicemailApp, " \t\n"), "voicemail application %q must be one word", c.VoicemailApp)
	check(len(c.Emergency) > 0, "emergency numbers must not be empty: a blocked phone must still reach emergency services")
	for name, cause := range map[string]string{"outgoing": c.OutgoingCause, "incoming": c.IncomingCause, "fail-closed": c.FailClosedCause} {
		check(isHangupCause(cause), "%s hangup cause %q is not a FreeSWITCH cause name (such as OUTGOING_CALL_BARRED)", name, cause)
	}
	for _, name := range PromptNames {
		file := *c.Prompts.Field(name)
		check(!strings.ContainsAny(file, " \t\r\n"), "prompt %s %q must not contain spaces", name, file)
	}
	return errors.Join(errs...)
}

// PromptNames are the names operators use for the prompts, in order.
var PromptNames = []string{"enter-password", "wrong-password", "now-blocked", "now-unrestricted",
	"not-available", "locked-out", "goodbye", "outgoing-blocked", "incoming-blocked"}

// Field returns the prompt called name (one of PromptNames), or nil.
func (p *Prompts) Field(name string) *string {
	switch name {
	case "enter-password":
		return &p.EnterPassword
	case "wrong-password":
		return &p.WrongPassword
	case "now-blocked":
		return &p.NowBlocked
	case "now-unrestricted":
		return &p.NowUnrestricted
	case "not-available":
		return &p.NotAvailable
	case "locked-out":
		return &p.LockedOut
	case "goodbye":
		return &p.Goodbye
	case "outgoing-blocked":
		return &p.OutgoingBlocked
	case "incoming-blocked":
		return &p.IncomingBlocked
	}
	return nil
}

// voicemailArgs fills the called extension into the voicemail arguments.
func (c Config) voicemailArgs(number, domain string) string {
	return strings.NewReplacer("{number}", number, "{domain}", domain).Replace(c.VoicemailArgs)
}
