package policy

// Numbers is a small set of dialed numbers, such as the emergency numbers.
// It is a slice because the sets are a handful of entries: a scan is faster
// than hashing and allocates nothing.
type Numbers []string

// Contains reports whether number is in the set, compared exactly.
func (n Numbers) Contains(number string) bool {
	for _, m := range n {
		if m == number {
			return true
		}
	}
	return false
}
