package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/phonelock/phonelock/internal/adminapi"
	"github.com/phonelock/phonelock/store"
)

// nodeFlags are the arguments of the sp, org, user and token commands.
type nodeFlags struct {
	id         string     // the record the command names
	name       string     // --name: display name, or the token's name
	sp         string     // --sp: the parent of a new organization
	domains    stringList // --domain, repeatable
	extensions stringList // --ext, repeatable
	role       string     // token create --role
	expiresFor positiveDuration
	expiresAt  endValue
	out        string // token create --out
}

// bind registers the flags of verb on fs and returns what its one
// positional argument is ("" for none); ok is false for a verb that is
// not one of these commands.
func (n *nodeFlags) bind(fs *flag.FlagSet, verb string) (arg string, ok bool) {
	noun, action, _ := strings.Cut(verb, " ")
	switch {
	case noun == "token" && action == "create":
		fs.StringVar(&n.role, "role", "", "admin, sp:ID, org:ID or user:NAME@ORG")
		fs.StringVar(&n.name, "name", "", "what the token is for")
		fs.Var(&n.expiresFor, "for", "the token expires after this long")
		fs.Var(&n.expiresAt, "until", "the token expires at this time")
		fs.StringVar(&n.out, "out", "", "write the secret into this new `file` (mode 0600)")
		return "", true
	case noun == "token" && action == "list":
		return "", true
	case noun == "token" && action == "revoke":
		return "ID", true
	case noun == "token":
		return "", false
	case action == "list":
		return "", true
	case (action == "show" || action == "delete") && noun == "user":
		return "NAME@ORG", true
	case action == "show", action == "delete":
		return "ID", true
	case action != "add":
		return "", false
	}

	fs.StringVar(&n.name, "name", "", "display name")
	switch noun {
	case "org":
		fs.StringVar(&n.sp, "sp", "", "the service provider that owns it")
		fs.Var(&n.domains, "domain", "a FreeSWITCH domain it owns (repeatable)")
	case "user":
		// The id names the organization: NAME@ORG.
		fs.Var(&n.extensions, "ext", "an extension NUMBER@DOMAIN it owns (repeatable)")
		return "NAME@ORG", true
	}
	return "ID", true
}

// check refuses arguments the command cannot use.
func (n *nodeFlags) check(verb string) error {
	switch {
	case verb == "org add" && n.sp == "":
		return errors.New("'org add' needs --sp SP")
	case verb == "token create" && (n.role == "" || n.name == ""):
		return errors.New("'token create' needs --role and --name")
	case n.expiresFor.d > 0 && !n.expiresAt.t.IsZero():
		return errors.New("give --for or --until, not both")
	}
	return nil
}

// doNode runs the sp, org, user and token commands.
func (c *adminCmd) doNode(ctx context.Context, a adminapi.Admin, w io.Writer) error {
	n := &c.node
	switch c.verb {
	case "sp add":
		sp, err := a.AddServiceProvider(ctx, store.ServiceProvider{ID: n.id, Name: n.name})
		return printNode(w, err, c.json, sp, spRows)
	case "sp list":
		list, err := a.ServiceProviders(ctx)
		return printNodes(w, err, c.json, list, spRows)
	case "sp show":
		sp, err := a.ServiceProvider(ctx, n.id)
		return printNode(w, err, c.json, sp, spRows)
	case "org add":
		o, err := a.AddOrganization(ctx, store.Organization{ID: n.id, Name: n.name,
			ServiceProvider: n.sp, Domains: n.domains})
		return printNode(w, err, c.json, o, orgRows)
	case "org list":
		list, err := a.Organizations(ctx)
		return printNodes(w, err, c.json, list, orgRows)
	case "org show":
		o, err := a.Organization(ctx, n.id)
		return printNode(w, err, c.json, o, orgRows)
	case "user add":
		u, err := a.AddUser(ctx, store.User{ID: n.id, Name: n.name, Extensions: n.extensions})
		return printNode(w, err, c.json, u, userRows)
	case "user list":
		list, err := a.Users(ctx)
		return printNodes(w, err, c.json, list, userRows)
	case "user show":
		u, err := a.User(ctx, n.id)
		return printNode(w, err, c.json, u, userRows)
	case "token create":
		return c.createToken(ctx, a, w)
	case "token list":
		list, err := a.Tokens(ctx)
		return printNodes(w, err, c.json, list, tokenRows)
	}

	noun, _, _ := strings.Cut(c.verb, " ")
	del := map[string]func(context.Context, string) error{
		"sp": a.DeleteServiceProvider, "org": a.DeleteOrganization, "user": a.DeleteUser, "token": a.RevokeToken,
	}[noun]
	if err := del(ctx, n.id); err != nil {
		return err
	}
	if noun == "token" {
		fmt.Fprintf(w, "revoked token %s\n", n.id)
	} else {
		fmt.Fprintf(w, "deleted %s %s\n", noun, n.id)
	}
	return nil
}

// createToken makes a token and shows its secret this once: on standard
// output (alone on its line, or in the JSON), or in a new file with --out.
func (c *adminCmd) createToken(ctx context.Context, a adminapi.Admin, w io.Writer) error {
	n := &c.node
	req := adminapi.TokenRequest{Name: n.name, Role: n.role}
	switch {
	case n.expiresFor.d > 0:
		t := time.Now().Add(n.expiresFor.d).Truncate(time.Second)
		req.ExpiresAt = &t
	case !n.expiresAt.t.IsZero():
		req.ExpiresAt = &n.expiresAt.t
	}

	var out *os.File
	if n.out != "" {
		// Made before the token, so that a token is never made that
		// cannot be kept.
		f, err := os.OpenFile(n.out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return &adminapi.Error{Kind: adminapi.ErrInvalid, Message: "token file: " + err.Error()}
		}
		out = f
	}
	tok, err := a.CreateToken(ctx, req)
	if out != nil {
		if err == nil {
			_, err = fmt.Fprintln(out, tok.Secret)
			err = errors.Join(err, out.Sync())
		}
		err = errors.Join(err, out.Close())
		if err != nil {
			os.Remove(n.out)
			return err
		}
	}
	if err != nil {
		return err
	}

	switch {
	case c.json:
		if out != nil {
			tok.Secret = ""
		}
		return writeIndentedJSON(w, tok)
	case out != nil:
		expiry := ""
		if !tok.Token.ExpiresAt.IsZero() {
			expiry = ", expires at " + tok.Token.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "created token %s (%s, role %s%s); its secret is in %s\n",
			tok.Token.ID, tok.Token.Name, tok.Token.Role, expiry, n.out)
	default:
		fmt.Fprintln(w, tok.Secret)
	}
	return nil
}

// A row printer returns the header and the cells of one record, in the
// order and with the names of its JSON fields.
var (
	spRows = func(sp store.ServiceProvider) ([]string, []string) {
		return []string{"ID", "NAME", "CREATED_AT"}, []string{sp.ID, sp.Name, sp.CreatedAt.Format(time.RFC3339)}
	}
	orgRows = func(o store.Organization) ([]string, []string) {
		return []string{"ID", "NAME", "SERVICE_PROVIDER", "DOMAINS", "CREATED_AT"},
			[]string{o.ID, o.Name, o.ServiceProvider, strings.Join(o.Domains, ","), o.CreatedAt.Format(time.RFC3339)}
	}
	userRows = func(u store.User) ([]string, []string) {
		return []string{"ID", "NAME", "ORGANIZATION", "EXTENSIONS", "CREATED_AT"},
			[]string{u.ID, u.Name, u.Organization, strings.Join(u.Extensions, ","), u.CreatedAt.Format(time.RFC3339)}
	}
	tokenRows = func(t store.Token) ([]string, []string) {
		expires := "-"
		if !t.ExpiresAt.IsZero() {
			expires = t.ExpiresAt.Format(time.RFC3339)
		}
		return []string{"ID", "NAME", "ROLE", "CREATED_AT", "EXPIRES_AT", "REVOKED"},
			[]string{t.ID, t.Name, t.Role, t.CreatedAt.Format(time.RFC3339), expires, yesNo(t.Revoked)}
	}
)

// printNodes prints a list as a table, or as JSON.
func printNodes[T any](w io.Writer, err error, asJSON bool, list []T, rows func(T) ([]string, []string)) error {
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []T{}
		}
		return writeIndentedJSON(w, list)
	}
	var zero T
	header, _ := rows(zero)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, rec := range list {
		_, cells := rows(rec)
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// printNode prints one record as "Field: value" lines, or as JSON.
func printNode[T any](w io.Writer, err error, asJSON bool, rec T, rows func(T) ([]string, []string)) error {
	if err != nil {
		return err
	}
	if asJSON {
		return writeIndentedJSON(w, rec)
	}
	header, cells := rows(rec)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := range header {
		fmt.Fprintf(tw, "%s:\t%s\n", strings.ToLower(header[i]), cells[i])
	}
	return tw.Flush()
}

// stringList is a repeatable flag; each value may also list several,
// separated by commas.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}
