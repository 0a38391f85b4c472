package callflow

import (
	"strings"

	"github.com/phonelock/phonelock/esl"
	"github.com/phonelock/phonelock/store"
)

// identify returns the store ids of the calling terminal and the called
// extension, "" where there is none.
//
// The calling terminal is the SIP user FreeSWITCH authenticated
// (variable_user_name at variable_domain_name). The caller ID is chosen by
// the caller and is used only when the operator opted in to trusting it.
// The called extension is the dialed number, or the number the dialplan
// names in phonelock_callee (for routes whose dialed number is not the
// extension, such as an intercom prefix), in the domain the dialplan names
// in phonelock_domain (set for calls from gateways), else in the channel's
// domain, else in the SIP request's domain.
func identify(c *esl.Call, trustCallerID bool) (callerID, calleeID string) {
	domain := c.Variable("phonelock_domain")
	if domain == "" {
		domain = c.Domain
	}
	if domain == "" {
		domain = c.SIPRequestHost
	}

	switch {
	case c.UserName != "" && c.Domain != "":
		callerID = idOrEmpty(c.UserName, c.Domain)
	case trustCallerID && c.CallerIDNumber != "" && domain != "":
		callerID = idOrEmpty(c.CallerIDNumber, domain)
	}
	callee := c.Variable("phonelock_callee")
	if callee == "" {
		callee = c.Destination
	}
	if domain != "" && callee != "" {
		calleeID = idOrEmpty(callee, domain)
	}
	return callerID, calleeID
}

// idOrEmpty returns NUMBER@DOMAIN normalised, or "" when it cannot be an
// extension (a feature code such as *11, say).
func idOrEmpty(number, domain string) string {
	id, err := store.ParseID(number + "@" + domain)
	if err != nil {
		return ""
	}
	return id
}

func splitID(id string) (number, domain string) {
	number, domain, _ = strings.Cut(id, "@")
	return number, domain
}
