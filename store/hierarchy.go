package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Limits of the hierarchy's ids and display names.
const (
	maxNameIDLen = 64  // bytes of a service provider or organization id, or of a part of a user id
	maxLabelLen  = 128 // characters of a display name
)

// ServiceProvider is a company that serves organizations; it owns them.
type ServiceProvider struct {
	// ID identifies the service provider (see ParseName).
	ID string `json:"id"`

	// Name is a display name: up to 128 printable characters, may be empty.
	Name string `json:"name"`

	// CreatedAt is when it was added, by the Store's clock.
	CreatedAt time.Time `json:"created_at"`
}

// Organization is a customer of a service provider. It owns FreeSWITCH
// domains, and with them every extension in those domains.
type Organization struct {
	// ID identifies the organization (see ParseName).
	ID string `json:"id"`

	// Name is a display name: up to 128 printable characters, may be empty.
	Name string `json:"name"`

	// ServiceProvider is the id of the service provider that owns it.
	ServiceProvider string `json:"service_provider"`

	// Domains are the lower-cased domains it owns, sorted; each belongs to
	// one organization only.
	Domains []string `json:"domains"`

	// CreatedAt is when it was added, by the Store's clock.
	CreatedAt time.Time `json:"created_at"`
}

// User is a person in an organization who owns some of its extensions.
type User struct {
	// ID identifies the user: NAME@ORGANIZATION (see ParseUserID), so
	// that each organization names its users in a space of its own.
	ID string `json:"id"`

	// Name is a display name: up to 128 printable characters, may be empty.
	Name string `json:"name"`

	// Organization is the id of the organization the user belongs to, the
	// part of ID after the @.
	Organization string `json:"organization"`

	// Extensions are the normalised ids of the extensions the user owns,
	// sorted, all in the organization's domains. They need not exist in
	// the store.
	Extensions []string `json:"extensions"`

	// CreatedAt is when it was added, by the Store's clock.
	CreatedAt time.Time `json:"created_at"`
}

func (sp ServiceProvider) key() string { return sp.ID }
func (o Organization) key() string     { return o.ID }
func (u User) key() string             { return u.ID }

// ParseName validates the id of a service provider or organization, or
// the name part of a user's: 1 to 64 characters of a-z 0-9 . _ -. It
// returns s unchanged, or an error wrapping ErrInvalidID that says what is
// wrong. Upper case is refused rather than folded, so that an id reads the
// same everywhere it appears.
func ParseName(s string) (string, error) {
	if len(s) == 0 || len(s) > maxNameIDLen || !allBytes(s, isNameByte) {
		return "", newKindError(ErrInvalidID,
			"invalid id %s: want 1 to 64 characters of a-z 0-9 . _ -", QuoteInput(s))
	}
	return s, nil
}

// ParseUserID validates a user's id, NAME@ORGANIZATION, both parts as
// ParseName wants them, and returns the organization's id. User ids are
// unique within their organization only: whether a name is taken says
// nothing about other organizations.
func ParseUserID(s string) (org string, err error) {
	name, org, found := strings.Cut(s, "@")
	if !found {
		return "", newKindError(ErrInvalidID, "invalid user id %s: want NAME@ORGANIZATION", QuoteInput(s))
	}
	if _, err := ParseName(name); err != nil {
		return "", fmt.Errorf("user id %s: %w", QuoteInput(s), err)
	}
	if _, err := ParseName(org); err != nil {
		return "", fmt.Errorf("user id %s: organization: %w", QuoteInput(s), err)
	}
	return org, nil
}

func parseName(s string) error {
	_, err := ParseName(s)
	return err
}

func parseUserID(s string) error {
	_, err := ParseUserID(s)
	return err
}

func isNameByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c == '.' || c == '_' || c == '-'
}

// checkLabel returns an error wrapping ErrInvalidID unless s is minLen to
// maxLen printable characters; what names s in the message.
func checkLabel(what, s string, minLen, maxLen int) error {
	n := utf8.RuneCountInString(s)
	printable := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r)
	})
	if !printable || n < minLen || n > maxLen {
		return newKindError(ErrInvalidID, "invalid %s %s: want %d to %d printable characters",
			what, QuoteInput(s), minLen, maxLen)
	}
	return nil
}

// parseDomain validates a domain like the domain part of ParseID and
// returns it lower-cased.
func parseDomain(s string) (string, error) {
	if len(s) == 0 || len(s) > maxDomainLen || !allBytes(s, isDomainByte) {
		return "", newKindError(ErrInvalidID,
			"invalid domain %s: want 1 to 253 characters of 0-9 A-Z a-z . -", QuoteInput(s))
	}
	return strings.ToLower(s), nil
}

// sortedSet returns list sorted without duplicates, never nil.
func sortedSet(list []string) []string {
	list = slices.Clone(list)
	slices.Sort(list)
	return append([]string{}, slices.Compact(list)...)
}

// AddServiceProvider adds sp, with an audit record "sp_add", in one
// committed transaction, and returns it as stored. It returns an error
// wrapping ErrInvalidID for a malformed id or name, and ErrExists if the
// id is taken. CreatedAt is set by the Store.
func (s *Store) AddServiceProvider(sp ServiceProvider, actor Actor) (ServiceProvider, error) {
	if _, err := ParseName(sp.ID); err != nil {
		return ServiceProvider{}, fmt.Errorf("add service provider: %w", err)
	}
	if err := checkLabel("name", sp.Name, 0, maxLabelLen); err != nil {
		return ServiceProvider{}, fmt.Errorf("add service provider %s: %w", sp.ID, err)
	}

	err := s.update(func(tx *bolt.Tx) error {
		if hasRecord(tx, spTable, sp.ID) {
			return ErrExists
		}
		sp.CreatedAt = s.nowUTC()
		if err := putRecord(tx, spTable, sp); err != nil {
			return err
		}
		detail := fmt.Sprintf("sp=%s name=%q", sp.ID, sp.Name)
		return appendAudit(tx, sp.CreatedAt, "", "sp_add", actor, "ok", detail)
	})
	if err != nil {
		return ServiceProvider{}, fmt.Errorf("add service provider %s: %w", sp.ID, err)
	}
	return sp, nil
}

// AddOrganization adds o, with an audit record "org_add", in one committed
// transaction, and returns it as stored, its domains lower-cased and
// sorted. Its service provider must exist (else ErrNotFound), its id must
// be free (else ErrExists), and each domain, validated like the domain
// part of ParseID (else ErrInvalidID), must not belong to another
// organization (else ErrExists naming the domain). CreatedAt is set by the
// Store.
func (s *Store) AddOrganization(o Organization, actor Actor) (Organization, error) {
	o, err := checkOrganization(o)
	if err != nil {
		return Organization{}, fmt.Errorf("add organization %s: %w", o.ID, err)
	}

	err = s.update(func(tx *bolt.Tx) error {
		if hasRecord(tx, orgTable, o.ID) {
			return ErrExists
		}
		if !hasRecord(tx, spTable, o.ServiceProvider) {
			return notFound(spTable.kind, o.ServiceProvider)
		}

		domains := tx.Bucket(domainsBucket)
		for _, d := range o.Domains {
			if owner := domains.Get([]byte(d)); owner != nil {
				return newKindError(ErrExists, "domain %s already belongs to organization %s", d, owner)
			}
			if err := domains.Put([]byte(d), []byte(o.ID)); err != nil {
				return fmt.Errorf("write domain: %w", err)
			}
		}

		o.CreatedAt = s.nowUTC()
		if err := putRecord(tx, orgTable, o); err != nil {
			return err
		}
		detail := fmt.Sprintf("org=%s sp=%s domains=%s name=%q",
			o.ID, o.ServiceProvider, strings.Join(o.Domains, ","), o.Name)
		return appendAudit(tx, o.CreatedAt, "", "org_add", actor, "ok", detail)
	})
	if err != nil {
		return Organization{}, fmt.Errorf("add organization %s: %w", o.ID, err)
	}
	return o, nil
}

// checkOrganization validates o's fields and returns it with its domains
// normalised.
func checkOrganization(o Organization) (Organization, error) {
	if _, err := ParseName(o.ID); err != nil {
		return o, err
	}
	if _, err := ParseName(o.ServiceProvider); err != nil {
		return o, fmt.Errorf("service provider: %w", err)
	}
	if err := checkLabel("name", o.Name, 0, maxLabelLen); err != nil {
		return o, err
	}

	domains := make([]string, 0, len(o.Domains))
	for _, d := range o.Domains {
		d, err := parseDomain(d)
		if err != nil {
			return o, err
		}
		domains = append(domains, d)
	}
	o.Domains = sortedSet(domains)
	return o, nil
}

// AddUser adds u, with an audit record "user_add", in one committed
// transaction, and returns it as stored, its extensions normalised and
// sorted. Its organization must exist (else ErrNotFound), its id must be
// free (else ErrExists), and each extension must be a valid id (see
// ParseID) in one of the organization's domains (else ErrInvalidID). An
// extension may belong to several users. CreatedAt is set by the Store.
func (s *Store) AddUser(u User, actor Actor) (User, error) {
	u, err := checkUser(u)
	if err != nil {
		return User{}, fmt.Errorf("add user %s: %w", u.ID, err)
	}

	err = s.update(func(tx *bolt.Tx) error {
		if hasRecord(tx, userTable, u.ID) {
			return ErrExists
		}
		org, found, err := getRecord[Organization](tx, orgTable, u.Organization)
		if err != nil {
			return err
		}
		if !found {
			return notFound(orgTable.kind, u.Organization)
		}

		owned := tx.Bucket(userExtensionsBucket)
		for _, ext := range u.Extensions {
			if !slices.Contains(org.Domains, domainOf(ext)) {
				return newKindError(ErrInvalidID, "extension %s is not in a domain of organization %s",
					ext, org.ID)
			}
			if err := owned.Put(ownershipKey(ext, u.ID), nil); err != nil {
				return fmt.Errorf("write extension owner: %w", err)
			}
		}

		u.CreatedAt = s.nowUTC()
		if err := putRecord(tx, userTable, u); err != nil {
			return err
		}
		detail := fmt.Sprintf("user=%s org=%s extensions=%s name=%q",
			u.ID, u.Organization, strings.Join(u.Extensions, ","), u.Name)
		return appendAudit(tx, u.CreatedAt, "", "user_add", actor, "ok", detail)
	})
	if err != nil {
		return User{}, fmt.Errorf("add user %s: %w", u.ID, err)
	}
	return u, nil
}

// checkUser validates u's fields and returns it with its extensions
// normalised.
func checkUser(u User) (User, error) {
	org, err := ParseUserID(u.ID)
	switch {
	case err != nil:
		return u, err
	case u.Organization == "":
		u.Organization = org
	case u.Organization != org:
		return u, newKindError(ErrInvalidID,
			"user %s belongs to organization %s, not %s: the id ends in its organization", u.ID, org, u.Organization)
	}
	if err := checkLabel("name", u.Name, 0, maxLabelLen); err != nil {
		return u, err
	}

	extensions := make([]string, 0, len(u.Extensions))
	for _, ext := range u.Extensions {
		id, err := ParseID(ext)
		if err != nil {
			return u, err
		}
		extensions = append(extensions, id)
	}
	u.Extensions = sortedSet(extensions)
	return u, nil
}

// domainOf returns the domain part of a normalised extension id.
func domainOf(id string) string {
	_, domain, _ := strings.Cut(id, "@")
	return domain
}

// ownershipKey is the key in the user extensions bucket saying that user
// owns ext. No extension id holds a NUL byte, so a prefix scan for ext
// and NUL finds exactly ext's owners.
func ownershipKey(ext, user string) []byte {
	return []byte(ext + "\x00" + user)
}

// ServiceProviders returns all service providers sorted by id.
func (s *Store) ServiceProviders() ([]ServiceProvider, error) {
	list, err := listTable[ServiceProvider](s, spTable)
	if err != nil {
		return nil, fmt.Errorf("list service providers: %w", err)
	}
	return list, nil
}

// Organizations returns all organizations sorted by id.
func (s *Store) Organizations() ([]Organization, error) {
	list, err := listTable[Organization](s, orgTable)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return list, nil
}

// Users returns all users sorted by id.
func (s *Store) Users() ([]User, error) {
	list, err := listTable[User](s, userTable)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return list, nil
}

// Hierarchy is every service provider, organization and user, read at one
// moment.
type Hierarchy struct {
	ServiceProviders []ServiceProvider
	Organizations    []Organization
	Users            []User
}

// Hierarchy reads the whole hierarchy in one read transaction, each list
// sorted by id.
func (s *Store) Hierarchy() (Hierarchy, error) {
	var h Hierarchy
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		if h.ServiceProviders, err = listRecords[ServiceProvider](tx, spTable); err != nil {
			return err
		}
		if h.Organizations, err = listRecords[Organization](tx, orgTable); err != nil {
			return err
		}
		h.Users, err = listRecords[User](tx, userTable)
		return err
	})
	if err != nil {
		return Hierarchy{}, fmt.Errorf("read hierarchy: %w", err)
	}
	return h, nil
}

// listTable reads all records of table t in one read transaction.
func listTable[T keyed](s *Store, t table) ([]T, error) {
	var list []T
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		list, err = listRecords[T](tx, t)
		return err
	})
	return list, err
}

// ServiceProviderByID returns the service provider with the given id, or
// an error wrapping ErrNotFound.
func (s *Store) ServiceProviderByID(id string) (ServiceProvider, error) {
	sp, err := getByID[ServiceProvider](s, spTable, id)
	if err != nil {
		return ServiceProvider{}, fmt.Errorf("get service provider: %w", err)
	}
	return sp, nil
}

// OrganizationByID returns the organization with the given id, or an
// error wrapping ErrNotFound.
func (s *Store) OrganizationByID(id string) (Organization, error) {
	o, err := getByID[Organization](s, orgTable, id)
	if err != nil {
		return Organization{}, fmt.Errorf("get organization: %w", err)
	}
	return o, nil
}

// UserByID returns the user with the given id, or an error wrapping
// ErrNotFound.
func (s *Store) UserByID(id string) (User, error) {
	u, err := getByID[User](s, userTable, id)
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// getByID reads one record of table t in a read transaction. A malformed
// id returns an error wrapping ErrInvalidID, a missing record one
// wrapping ErrNotFound.
func getByID[T keyed](s *Store, t table, id string) (T, error) {
	var rec T
	if err := t.parseID(id); err != nil {
		return rec, err
	}

	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		rec, found, err = getRecord[T](tx, t, id)
		return err
	})
	if err == nil && !found {
		err = notFound(t.kind, id)
	}
	return rec, err
}

// DeleteServiceProvider removes the service provider, with an audit record
// "sp_delete", in one committed transaction. It returns an error wrapping
// ErrNotFound if it is missing and ErrInUse, naming them, while
// organizations still belong to it. Its tokens are revoked in the same
// transaction, so that they cannot come back to life when the id is used
// again.
func (s *Store) DeleteServiceProvider(id string, actor Actor) error {
	inUse := func(tx *bolt.Tx) ([]string, error) {
		orgs, err := listRecords[Organization](tx, orgTable)
		var using []string
		for _, o := range orgs {
			if o.ServiceProvider == id {
				using = append(using, "organization "+o.ID)
			}
		}
		return using, err
	}
	unindex := func(*bolt.Tx) error { return nil }

	if err := s.deleteNode(spTable, id, actor, inUse, unindex); err != nil {
		return fmt.Errorf("delete service provider %s: %w", id, err)
	}
	return nil
}

// DeleteOrganization removes the organization, and with it its claim on
// its domains, with an audit record "org_delete", in one committed
// transaction. It returns an error wrapping ErrNotFound if it is missing
// and ErrInUse, naming them, while users still belong to it. Its tokens
// are revoked in the same transaction.
func (s *Store) DeleteOrganization(id string, actor Actor) error {
	inUse := func(tx *bolt.Tx) ([]string, error) {
		users, err := listRecords[User](tx, userTable)
		var using []string
		for _, u := range users {
			if u.Organization == id {
				using = append(using, "user "+u.ID)
			}
		}
		return using, err
	}
	unindex := func(tx *bolt.Tx) error {
		org, _, err := getRecord[Organization](tx, orgTable, id)
		if err != nil {
			return err
		}
		for _, d := range org.Domains {
			if err := tx.Bucket(domainsBucket).Delete([]byte(d)); err != nil {
				return fmt.Errorf("delete domain: %w", err)
			}
		}
		return nil
	}

	if err := s.deleteNode(orgTable, id, actor, inUse, unindex); err != nil {
		return fmt.Errorf("delete organization %s: %w", id, err)
	}
	return nil
}

// DeleteUser removes the user, and with it its ownership of its
// extensions, with an audit record "user_delete", in one committed
// transaction. It returns an error wrapping ErrNotFound if it is missing.
// Its tokens are revoked in the same transaction. The extensions stay.
func (s *Store) DeleteUser(id string, actor Actor) error {
	inUse := func(*bolt.Tx) ([]string, error) { return nil, nil }
	unindex := func(tx *bolt.Tx) error {
		u, _, err := getRecord[User](tx, userTable, id)
		if err != nil {
			return err
		}
		for _, ext := range u.Extensions {
			if err := tx.Bucket(userExtensionsBucket).Delete(ownershipKey(ext, id)); err != nil {
				return fmt.Errorf("delete extension owner: %w", err)
			}
		}
		return nil
	}

	if err := s.deleteNode(userTable, id, actor, inUse, unindex); err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	return nil
}

// deleteNode deletes the record id of table t in one transaction, with an
// audit record "<role>_delete", and revokes the tokens whose role names
// it. The record must exist (else ErrNotFound), and inUse must name
// nothing that still depends on it (else ErrInUse). unindex removes the
// record's entries from the index buckets before the record goes.
func (s *Store) deleteNode(t table, id string, actor Actor,
	inUse func(*bolt.Tx) ([]string, error), unindex func(*bolt.Tx) error) error {
	if err := t.parseID(id); err != nil {
		return err
	}

	return s.update(func(tx *bolt.Tx) error {
		if !hasRecord(tx, t, id) {
			return notFound(t.kind, id)
		}
		using, err := inUse(tx)
		if err != nil {
			return err
		}
		if len(using) > 0 {
			return fmt.Errorf("%w by %s", ErrInUse, strings.Join(using, ", "))
		}

		if err := unindex(tx); err != nil {
			return err
		}
		if err := deleteRecord(tx, t, id); err != nil {
			return err
		}

		now := s.nowUTC()
		if err := revokeRoleTokens(tx, t.role+":"+id, now, actor); err != nil {
			return err
		}
		return appendAudit(tx, now, "", t.role+"_delete", actor, "ok", t.role+"="+id)
	})
}

// Owner returns who owns the extension id: the organization owning its
// domain ("" if none, when the extension belongs to the administrator
// alone), that organization's service provider, and the ids of the users
// listing the extension, sorted. The extension need not exist. A malformed
// id returns an error wrapping ErrInvalidID.
func (s *Store) Owner(extID string) (org, sp string, users []string, err error) {
	id, err := ParseID(extID)
	if err != nil {
		return "", "", nil, fmt.Errorf("find owner: %w", err)
	}

	err = s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(domainsBucket); b != nil {
			org = string(b.Get([]byte(domainOf(id))))
		}
		if org != "" {
			o, found, err := getRecord[Organization](tx, orgTable, org)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("%w: domain %s belongs to missing organization %s",
					ErrCorrupt, domainOf(id), org)
			}
			sp = o.ServiceProvider
		}

		users = extensionUsers(tx, id)
		return nil
	})
	if err != nil {
		return "", "", nil, fmt.Errorf("find owner of %s: %w", id, err)
	}
	return org, sp, users, nil
}

// extensionUsers returns the ids of the users owning the extension id,
// sorted.
func extensionUsers(tx *bolt.Tx, id string) []string {
	b := tx.Bucket(userExtensionsBucket)
	if b == nil {
		return nil
	}

	var users []string
	prefix := []byte(id + "\x00")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		users = append(users, string(k[len(prefix):]))
	}
	return users
}
