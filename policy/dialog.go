package policy

// Start is how the feature-code dialog begins for a caller.
type Start uint8

// The ways a feature-code dialog can begin.
const (
	// NotAvailable: the caller is not authenticated, not known, has
	// protection switched off or has no password. A short prompt, then hang up.
	NotAvailable Start = iota + 1
	// LockedOut: too many wrong passwords recently. A prompt, then hang up.
	LockedOut
	// AskPassword: answer and ask for the password.
	AskPassword
)

var startNames = [...]string{
	NotAvailable: "not_available",
	LockedOut:    "locked_out",
	AskPassword:  "ask_password",
}

// String returns the start's snake_case name.
func (s Start) String() string {
	if int(s) < len(startNames) && startNames[s] != "" {
		return startNames[s]
	}
	return "unknown"
}

// Caller is what the dialog needs to know about the extension dialing the
// feature code.
type Caller struct {
	Known       bool // authenticated and present in the store
	Protection  bool // protected phone access is switched on
	PasswordSet bool // a password is stored
	LockedOut   bool // a lockout is in force now
}

// DialogStart decides how the feature-code dialog begins.
func DialogStart(c Caller) Start {
	switch {
	case !c.Known || !c.Protection || !c.PasswordSet:
		return NotAvailable
	case c.LockedOut:
		return LockedOut
	default:
		return AskPassword
	}
}
