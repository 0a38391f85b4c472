package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/phonelock/phonelock/store"
)

// Client speaks to a running daemon's admin API. It implements Admin.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client for the daemon at base, such as
// http://127.0.0.1:8085, that sends token with every request. Every request
// gives up after timeout.
func NewClient(base, token string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, newError(ErrInvalid, "invalid_server", fmt.Sprintf("server URL %q must look like http://127.0.0.1:8085", base))
	}
	return &Client{
		base:  strings.TrimRight(base, "/"),
		token: token,
		http:  &http.Client{Timeout: timeout},
	}, nil
}

// Set implements Admin.
func (c *Client) Set(ctx context.Context, id string, req SetRequest) (View, error) {
	var v View
	return v, c.do(ctx, http.MethodPatch, extPath(id), req, &v)
}

// Block implements Admin.
func (c *Client) Block(ctx context.Context, id string, until time.Time) (View, error) {
	var req BlockRequest
	if !until.IsZero() {
		req.Until = until.UTC().Format(time.RFC3339)
	}
	var v View
	return v, c.do(ctx, http.MethodPost, extPath(id)+"/block", req, &v)
}

// Import implements Admin.
func (c *Client) Import(ctx context.Context, rows []ImportRow) (int, error) {
	var res ImportResult
	return res.Imported, c.do(ctx, http.MethodPost, "/api/v1/import", ImportRequest{Rows: rows}, &res)
}

// ResetAttempts implements Admin.
func (c *Client) ResetAttempts(ctx context.Context, id string) (View, error) {
	var v View
	return v, c.do(ctx, http.MethodPost, extPath(id)+"/reset-attempts", nil, &v)
}

// Audit implements Admin.
func (c *Client) Audit(ctx context.Context, q AuditRequest) ([]store.AuditRecord, error) {
	params := url.Values{}
	if q.Extension != "" {
		params.Set("extension", q.Extension)
	}
	if !q.Since.IsZero() {
		params.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		params.Set("limit", strconv.Itoa(q.Limit))
	}
	var recs []store.AuditRecord
	return recs, c.do(ctx, http.MethodGet, "/api/v1/audit?"+params.Encode(), nil, &recs)
}

// DBStats implements Admin.
func (c *Client) DBStats(ctx context.Context) (StatsView, error) {
	var st StatsView
	return st, c.do(ctx, http.MethodGet, "/api/v1/db/stats", nil, &st)
}

// DBCheck implements Admin.
func (c *Client) DBCheck(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/api/v1/db/check", nil, nil)
}

// DBBackup implements Admin: it streams the daemon's consistent copy to w.
func (c *Client) DBBackup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/db/backup", nil)
	if err != nil {
		return 0, newError(ErrInvalid, "invalid_request", err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, newError(ErrUnavailable, "unreachable", fmt.Sprintf("cannot reach the daemon at %s: %v", c.base, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return 0, decodeError(resp.StatusCode, data)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, newError(ErrUnavailable, "backup_failed", "copy backup: "+err.Error())
	}
	return n, nil
}

// Unblock implements Admin.
func (c *Client) Unblock(ctx context.Context, id string) (View, error) {
	var v View
	return v, c.do(ctx, http.MethodPost, extPath(id)+"/unblock", nil, &v)
}

// Show implements Admin.
func (c *Client) Show(ctx context.Context, id string) (View, error) {
	var v View
	return v, c.do(ctx, http.MethodGet, extPath(id), nil, &v)
}

// List implements Admin.
func (c *Client) List(ctx context.Context) ([]View, error) {
	var vs []View
	return vs, c.do(ctx, http.MethodGet, "/api/v1/extensions", nil, &vs)
}

// Delete implements Admin.
func (c *Client) Delete(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, extPath(id), nil, nil)
}

// ServiceProviders implements Admin.
func (c *Client) ServiceProviders(ctx context.Context) ([]store.ServiceProvider, error) {
	var list []store.ServiceProvider
	return list, c.do(ctx, http.MethodGet, "/api/v1/service-providers", nil, &list)
}

// ServiceProvider implements Admin.
func (c *Client) ServiceProvider(ctx context.Context, id string) (store.ServiceProvider, error) {
	var sp store.ServiceProvider
	return sp, c.do(ctx, http.MethodGet, "/api/v1/service-providers/"+url.PathEscape(id), nil, &sp)
}

// AddServiceProvider implements Admin.
func (c *Client) AddServiceProvider(ctx context.Context, sp store.ServiceProvider) (store.ServiceProvider, error) {
	var out store.ServiceProvider
	return out, c.do(ctx, http.MethodPost, "/api/v1/service-providers", sp, &out)
}

// DeleteServiceProvider implements Admin.
func (c *Client) DeleteServiceProvider(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/service-providers/"+url.PathEscape(id), nil, nil)
}

// Organizations implements Admin.
func (c *Client) Organizations(ctx context.Context) ([]store.Organization, error) {
	var list []store.Organization
	return list, c.do(ctx, http.MethodGet, "/api/v1/organizations", nil, &list)
}

// Organization implements Admin.
func (c *Client) Organization(ctx context.Context, id string) (store.Organization, error) {
	var o store.Organization
	return o, c.do(ctx, http.MethodGet, "/api/v1/organizations/"+url.PathEscape(id), nil, &o)
}

// AddOrganization implements Admin.
func (c *Client) AddOrganization(ctx context.Context, o store.Organization) (store.Organization, error) {
	var out store.Organization
	return out, c.do(ctx, http.MethodPost, "/api/v1/organizations", o, &out)
}

// DeleteOrganization implements Admin.
func (c *Client) DeleteOrganization(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/organizations/"+url.PathEscape(id), nil, nil)
}

// Users implements Admin.
func (c *Client) Users(ctx context.Context) ([]store.User, error) {
	var list []store.User
	return list, c.do(ctx, http.MethodGet, "/api/v1/users", nil, &list)
}

// User implements Admin.
func (c *Client) User(ctx context.Context, id string) (store.User, error) {
	var u store.User
	return u, c.do(ctx, http.MethodGet, "/api/v1/users/"+url.PathEscape(id), nil, &u)
}

// AddUser implements Admin.
func (c *Client) AddUser(ctx context.Context, u store.User) (store.User, error) {
	var out store.User
	return out, c.do(ctx, http.MethodPost, "/api/v1/users", u, &out)
}

// DeleteUser implements Admin.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/users/"+url.PathEscape(id), nil, nil)
}

// Tokens implements Admin.
func (c *Client) Tokens(ctx context.Context) ([]store.Token, error) {
	var list []store.Token
	return list, c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, &list)
}

// CreateToken implements Admin.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (NewToken, error) {
	var out NewToken
	return out, c.do(ctx, http.MethodPost, "/api/v1/tokens", req, &out)
}

// RevokeToken implements Admin.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(id), nil, nil)
}

func extPath(id string) string {
	return "/api/v1/extensions/" + url.PathEscape(id)
}

// do sends one request and decodes the answer into out, or the API error
// into an *Error of the matching kind.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return newError(ErrInvalid, "invalid_request", err.Error())
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return newError(ErrInvalid, "invalid_request", err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)

	resp, err := c.http.Do(req)
	if err != nil {
		return newError(ErrUnavailable, "unreachable",
			fmt.Sprintf("cannot reach the daemon at %s: %v (is 'phonelock serve' running?)", c.base, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return newError(ErrUnavailable, "unreachable", "read answer: "+err.Error())
	}

	if resp.StatusCode >= 300 {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return newError(ErrUnavailable, "bad_answer", "decode answer: "+err.Error())
	}
	return nil
}

func decodeError(status int, data []byte) error {
	var body errorBody
	if err := json.Unmarshal(data, &body); err != nil || body.Error.Message == "" {
		return newError(ErrUnavailable, "bad_answer",
			fmt.Sprintf("daemon answered %d %s", status, http.StatusText(status)))
	}
	kind := ErrUnavailable
	switch status {
	case http.StatusBadRequest:
		kind = ErrInvalid
	case http.StatusNotFound:
		kind = ErrNotFound
	case http.StatusForbidden:
		kind = ErrForbidden
	case http.StatusUnauthorized:
		kind = ErrUnauthorized
	case http.StatusConflict:
		kind = ErrConflict
	}
	return newError(kind, body.Error.Code, body.Error.Message)
}
