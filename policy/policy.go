// Package policy decides what phonelock does with a call. It is pure
// decision logic: it reads no files, speaks no protocol and does not log, so
// every rule can be tested as a table and costs next to nothing per call.
package policy

// Action is what the daemon does with one call.
type Action uint8

// The actions, in the order the rules consider them.
const (
	// Allow hands the call straight back to the dialplan, unanswered.
	Allow Action = iota + 1
	// Dialog runs the feature-code dialog that toggles the caller's block.
	Dialog
	// BlockOutgoing refuses a call placed by a blocked terminal.
	BlockOutgoing
	// Voicemail sends a call for a blocked extension to its voicemail.
	Voicemail
	// BlockIncoming refuses a call for a blocked extension without voicemail.
	BlockIncoming
	// Refuse ends a call because the store could not be read and the
	// operator chose to fail closed.
	Refuse
)

var actionNames = [...]string{
	Allow:         "allow",
	Dialog:        "dialog",
	BlockOutgoing: "block_outgoing",
	Voicemail:     "voicemail",
	BlockIncoming: "block_incoming",
	Refuse:        "refuse",
}

// String returns the action's snake_case name, as used in logs and metrics.
func (a Action) String() string {
	if int(a) < len(actionNames) && actionNames[a] != "" {
		return actionNames[a]
	}
	return "unknown"
}

// Extension is the part of an extension's stored state the rules need.
// The zero value is an extension the store does not know: unrestricted.
type Extension struct {
	Protection bool // protected phone access is switched on
	Blocked    bool // the terminal is blocked (meaningless while Protection is off)
	Voicemail  bool // calls may go to the extension's voicemail
}

// IsBlocked reports whether the extension is blocked now: protection off
// means never blocked, whatever the stored flag says.
func (e Extension) IsBlocked() bool {
	return e.Protection && e.Blocked
}

// Call is everything the rules know about one call.
type Call struct {
	// FeatureCode is true when the caller dialed the block/unblock code.
	FeatureCode bool
	// Emergency is true when the destination is a configured emergency number.
	Emergency bool
	// Caller is the state of the authenticated calling extension; the zero
	// value when the caller is not authenticated or not known.
	Caller Extension
	// Callee is the state of the called extension; the zero value when the
	// destination is not a known extension.
	Callee Extension
	// StoreFailed is true when the state could not be read; Caller and
	// Callee are then meaningless.
	StoreFailed bool
	// FailClosed makes a store failure refuse calls instead of allowing them.
	FailClosed bool
}

// Decide returns the action for a call. Emergency numbers are always
// allowed and the feature code always reaches its dialog (which itself says
// when the feature is not available), so a blocked terminal can still call
// for help and still be unblocked from its own keypad.
func Decide(c Call) Action {
	switch {
	case c.Emergency:
		return Allow
	case c.FeatureCode:
		return Dialog
	case c.StoreFailed && c.FailClosed:
		return Refuse
	case c.StoreFailed:
		return Allow
	case c.Caller.IsBlocked():
		return BlockOutgoing
	case c.Callee.IsBlocked() && c.Callee.Voicemail:
		return Voicemail
	case c.Callee.IsBlocked():
		return BlockIncoming
	default:
		return Allow
	}
}
