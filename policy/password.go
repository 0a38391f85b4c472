package policy

import "errors"

// Password length limits, in digits.
const (
	MinPasswordDigits = 3
	MaxPasswordDigits = 12
)

// ErrPasswordFormat is returned for a password that is not 3 to 12 digits.
// Its text never repeats the rejected input.
var ErrPasswordFormat = errors.New("password must be 3 to 12 digits (0-9), nothing else")

// ValidatePassword returns nil when password is 3 to 12 ASCII digits, and
// ErrPasswordFormat otherwise.
func ValidatePassword(password string) error {
	if len(password) < MinPasswordDigits || len(password) > MaxPasswordDigits {
		return ErrPasswordFormat
	}
	for i := 0; i < len(password); i++ {
		if password[i] < '0' || password[i] > '9' {
			return ErrPasswordFormat
		}
	}
	return nil
}
