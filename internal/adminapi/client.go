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
	base string
	http *http.Client
}

// NewClient returns a client for the daemon at base, such as
// http://127.0.0.1:8085. Every request gives up after timeout.
func NewClient(base string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, newError(ErrInvalid, "invalid_server", fmt.Sprintf("server URL %q must look like http://127.0.0.1:8085", base))
	}
	return &Client{
		base: strings.TrimRight(base, "/"),
		http: &http.Client{Timeout: timeout},
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
	}
	return newError(kind, body.Error.Code, body.Error.Message)
}
