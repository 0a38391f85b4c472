package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/phonelock/phonelock/internal/metrics"
	"github.com/phonelock/phonelock/store"
)

// maxRequestBytes bounds an API request body; the largest legitimate one is
// a few dozen bytes.
const maxRequestBytes = 64 << 10

// errorBody is the JSON every failed API request answers with.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Register adds the admin API routes to mux, served by svc. Every request
// must carry a bearer token, and is served for the token's role; every
// change is audited with the token's name, the API as its source and the
// client's address.
func Register(mux *http.ServeMux, svc *Service, log *slog.Logger, m *metrics.Metrics) {
	h := &handler{svc: svc, log: log, metrics: m}
	h.handle(mux, "GET /api/v1/whoami", h.whoami)
	h.handle(mux, "GET /api/v1/extensions", h.list)
	h.handle(mux, "GET /api/v1/extensions/{id}", h.show)
	h.handle(mux, "PATCH /api/v1/extensions/{id}", h.set)
	h.handle(mux, "POST /api/v1/extensions/{id}/block", h.block)
	h.handle(mux, "POST /api/v1/extensions/{id}/unblock", h.unblock)
	h.handle(mux, "DELETE /api/v1/extensions/{id}", h.delete)
	h.handle(mux, "POST /api/v1/extensions/{id}/reset-attempts", h.resetAttempts)
	h.handleLong(mux, "POST /api/v1/import", importRequest, h.importRows)
	h.handle(mux, "GET /api/v1/audit", h.audit)
	h.handle(mux, "GET /api/v1/db/stats", h.dbStats)
	h.handleLong(mux, "POST /api/v1/db/check", checkRequest, h.dbCheck)
	mux.HandleFunc("GET /api/v1/db/backup", h.dbBackup)
	// GET patterns answer HEAD too; a backup's HEAD would copy the whole
	// file to throw it away.
	mux.HandleFunc("HEAD /api/v1/db/backup", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", http.MethodGet)
		w.WriteHeader(http.StatusMethodNotAllowed)
	})
	h.registerHierarchy(mux)
}

// BlockRequest is the optional body of a block: an end, given as a time or
// as a duration from now.
type BlockRequest struct {
	Until string `json:"until,omitempty"` // RFC 3339
	For   string `json:"for,omitempty"`   // Go duration, such as 2h
}

// until resolves the request to a time; zero means no end.
func (b BlockRequest) until(now time.Time) (time.Time, error) {
	switch {
	case b.Until != "" && b.For != "":
		return time.Time{}, newError(ErrInvalid, "invalid_time", "give until or for, not both")
	case b.Until != "":
		t, err := time.Parse(time.RFC3339, b.Until)
		if err != nil || t.IsZero() { // zero would mean no end
			return time.Time{}, newError(ErrInvalid, "invalid_time", "until must be an RFC 3339 time such as 2026-12-24T18:00:00Z")
		}
		return t, nil
	case b.For != "":
		d, err := time.ParseDuration(b.For)
		if err != nil || d <= 0 {
			return time.Time{}, newError(ErrInvalid, "invalid_time", "for must be a positive duration such as 90m or 2h")
		}
		return now.Add(d).Truncate(time.Second), nil
	}
	return time.Time{}, nil
}

type handler struct {
	svc     *Service
	log     *slog.Logger
	metrics *metrics.Metrics
}

// apiFunc serves one route: it returns the status and the body to encode.
type apiFunc func(r *http.Request, svc *Service) (int, any, error)

func (h *handler) handle(mux *http.ServeMux, pattern string, fn apiFunc) {
	h.handleLong(mux, pattern, nil, fn)
}

// longRequest is how long an authorized request of a long route may take
// to send its body (read, none if zero) and to be answered (write), beyond
// the server's timeouts, if its role may use the route at all.
type longRequest struct {
	read, write time.Duration
	may         func(*Service) error
}

// The long routes:
//   - an import sends up to 64 MiB of rows, then waits while their
//     passwords are hashed, within ImportBudget;
//   - a backup streams the whole file, and a check reads all of it.
var (
	importRequest = &longRequest{read: time.Minute, write: ImportBudget(MaxImportRows) + time.Minute,
		may: (*Service).mayImport}
	backupRequest = &longRequest{write: fileWork, may: func(s *Service) error { return s.adminOnly("back up the database") }}
	checkRequest  = &longRequest{write: fileWork, may: func(s *Service) error { return s.adminOnly("check the database") }}
)

// fileWork bounds a backup or a check of the database file: minutes for a
// file of gigabytes.
const fileWork = 10 * time.Minute

// handleLong is handle for a route whose requests, once authorized, get
// the time long gives (none when nil) instead of the server's timeouts.
func (h *handler) handleLong(mux *http.ServeMux, pattern string, long *longRequest, fn apiFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		svc, who, err := h.authorize(r)
		if err == nil && long != nil {
			err = long.extend(w, svc)
		}
		status, body := 0, any(nil)
		if err == nil {
			status, body, err = fn(r, svc)
		}
		if err != nil {
			status, body = h.failure(w, r, err)
		}
		h.metrics.AdminRequests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
		if !readOnly(r) {
			h.log.Info("admin change", "method", r.Method, "path", r.URL.Path,
				"status", status, "token", who.Name, "token_id", who.TokenID, "role", who.Role, "remote_addr", r.RemoteAddr)
		}
		writeJSON(w, status, body)
	})
}

// extend moves the connection's deadlines to the long request's, once
// svc's role is known to be allowed the route.
func (l *longRequest) extend(w http.ResponseWriter, svc *Service) error {
	if err := l.may(svc); err != nil {
		return err
	}
	rc, now := http.NewResponseController(w), time.Now()
	errs := []error{rc.SetWriteDeadline(now.Add(l.write))}
	if l.read > 0 {
		errs = append(errs, rc.SetReadDeadline(now.Add(l.read)))
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, http.ErrNotSupported) {
			return fmt.Errorf("extend the request's deadlines: %w", err)
		}
	}
	return nil
}

// authorize checks that r may be served at all: it must not come from a
// browser, and must carry a valid bearer token. It returns the Service
// acting for the token's role and auditing under its name, and who the
// token is.
func (h *handler) authorize(r *http.Request) (*Service, Principal, error) {
	if err := refuseBrowser(r); err != nil {
		return nil, Principal{}, err
	}
	who, err := h.svc.Authenticate(bearer(r))
	if err != nil {
		return nil, Principal{}, err
	}
	svc := h.svc.WithPrincipal(who).WithActor(store.Actor{Name: who.Name, Source: "api", Addr: r.RemoteAddr,
		Token: who.TokenID, Role: who.Role.String()})
	return svc, who, nil
}

// bearer returns the token secret of r's Authorization header, "" if it
// has none.
func bearer(r *http.Request) string {
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(secret)
}

// refuseBrowser turns away what a web browser on the PBX host could be made
// to send: cross-site requests (an Origin header; changes without a JSON
// content type, which a page cannot send without asking first) and DNS
// rebinding (a Host that is a name other than localhost). The admin
// command sends none of these.
func refuseBrowser(r *http.Request) error {
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	switch {
	case r.Header.Get("Origin") != "":
		return newError(ErrForbidden, "browser_refused", "requests from web pages are refused")
	case host != "localhost" && net.ParseIP(strings.Trim(host, "[]")) == nil:
		return newError(ErrForbidden, "browser_refused", "address the API by IP address or localhost, not "+host)
	case !readOnly(r) && !isJSON(r.Header.Get("Content-Type")):
		return newError(ErrForbidden, "browser_refused", "changes need Content-Type: application/json")
	}
	return nil
}

// readOnly reports whether r's method only reads.
func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// isJSON reports whether a Content-Type header names JSON, parameters
// such as a charset aside.
func isJSON(contentType string) bool {
	media, _, err := mime.ParseMediaType(contentType)
	return err == nil && media == "application/json"
}

func (h *handler) failure(w http.ResponseWriter, r *http.Request, err error) (int, any) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, context.Canceled):
		// The client went away: nobody reads the answer, and nothing is
		// wrong with the daemon.
		e = newError(ErrUnavailable, "canceled", "the request ended before it was answered")
		h.log.Debug("admin request abandoned by its client", "method", r.Method, "path", r.URL.Path)
	default:
		e = newError(ErrUnavailable, "internal", err.Error())
	}
	status := statusOf(e.Kind)
	switch {
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="phonelock"`)
	case e.Code == "busy":
		w.Header().Set("Retry-After", "5")
	case e.Code == "import_running":
		w.Header().Set("Retry-After", "60")
	}
	if status >= 500 && e.Code != "canceled" {
		h.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	var body errorBody
	body.Error.Code, body.Error.Message = e.Code, e.Message
	return status, body
}

func statusOf(kind error) int {
	switch kind {
	case ErrUnauthorized:
		return http.StatusUnauthorized
	case ErrConflict:
		return http.StatusConflict
	case ErrInvalid:
		return http.StatusBadRequest
	case ErrNotFound:
		return http.StatusNotFound
	case ErrForbidden:
		return http.StatusForbidden
	default:
		return http.StatusServiceUnavailable
	}
}

func (h *handler) list(r *http.Request, svc *Service) (int, any, error) {
	views, err := svc.List(r.Context())
	return http.StatusOK, views, err
}

func (h *handler) show(r *http.Request, svc *Service) (int, any, error) {
	v, err := svc.Show(r.Context(), r.PathValue("id"))
	return http.StatusOK, v, err
}

// decodeBody reads a JSON object into v; an empty body leaves v as it is.
func decodeBody(r *http.Request, v any) error {
	return decodeBodyMax(r, v, maxRequestBytes)
}

func decodeBodyMax(r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return newError(ErrInvalid, "invalid_body", "request body: "+err.Error())
	}
	if dec.More() {
		return newError(ErrInvalid, "invalid_body", "request body: one JSON object, nothing after it")
	}
	return nil
}

func (h *handler) set(r *http.Request, svc *Service) (int, any, error) {
	var req SetRequest
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	v, err := svc.Set(r.Context(), r.PathValue("id"), req)
	return http.StatusOK, v, err
}

func (h *handler) block(r *http.Request, svc *Service) (int, any, error) {
	var req BlockRequest
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	until, err := req.until(time.Now())
	if err != nil {
		return 0, nil, err
	}
	v, err := svc.Block(r.Context(), r.PathValue("id"), until)
	return http.StatusOK, v, err
}

func (h *handler) importRows(r *http.Request, svc *Service) (int, any, error) {
	// One body a role is read at a time, so that imports sent at once
	// cannot each hold their rows in memory; the daemon-wide turn is taken
	// once the rows are in, and an import is refused before its rows are
	// read while another one runs.
	if svc.passwords.importRunning() {
		return 0, nil, errImporting
	}
	release, err := svc.passwords.sendingImport(svc.role.String())
	if err != nil {
		return 0, nil, err
	}
	defer release()
	rows, err := decodeImport(r)
	if err != nil {
		return 0, nil, err
	}
	n, err := svc.Import(r.Context(), rows)
	return http.StatusOK, ImportResult{Imported: n}, err
}

// maxImportBytes bounds an import's body: 100,000 rows of the longest
// extension ids fit.
const maxImportBytes = 64 << 20

// decodeImport reads an ImportRequest row by row, and stops at the row
// after the most an import may have, so that a body of millions of tiny
// rows is refused before it is held in memory.
func decodeImport(r *http.Request) ([]ImportRow, error) {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxImportBytes))
	dec.DisallowUnknownFields()
	invalid := func(err error) error {
		return newError(ErrInvalid, "invalid_body", `request body: want {"rows": [...]}: `+err.Error())
	}
	delim := func(want json.Delim) error {
		tok, err := dec.Token()
		if err == nil && tok != want {
			err = fmt.Errorf("found %v where %v belongs", tok, want)
		}
		return err
	}

	if err := delim('{'); err != nil {
		return nil, invalid(err)
	}
	var rows []ImportRow
	for seen := false; dec.More(); seen = true {
		key, err := dec.Token()
		switch {
		case err != nil:
			return nil, invalid(err)
		case key != "rows" || seen:
			return nil, invalid(fmt.Errorf("unexpected field %v", key))
		}
		if err := delim('['); err != nil {
			return nil, invalid(err)
		}
		for dec.More() {
			if len(rows) == MaxImportRows {
				return nil, errTooManyRows
			}
			var row ImportRow
			if err := dec.Decode(&row); err != nil {
				return nil, invalid(err)
			}
			rows = append(rows, row)
		}
		if err := delim(']'); err != nil {
			return nil, invalid(err)
		}
	}
	if err := delim('}'); err != nil {
		return nil, invalid(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid(errors.New("one JSON object, nothing after it"))
	}
	return rows, nil
}

func (h *handler) resetAttempts(r *http.Request, svc *Service) (int, any, error) {
	v, err := svc.ResetAttempts(r.Context(), r.PathValue("id"))
	return http.StatusOK, v, err
}

func (h *handler) audit(r *http.Request, svc *Service) (int, any, error) {
	q := AuditRequest{Extension: r.URL.Query().Get("extension")}
	if s := r.URL.Query().Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return 0, nil, newError(ErrInvalid, "invalid_time", "since must be an RFC 3339 time")
		}
		q.Since = t
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return 0, nil, newError(ErrInvalid, "invalid_limit", "limit must be 1 to 10000")
		}
		q.Limit = n
	}
	recs, err := svc.Audit(r.Context(), q)
	if recs == nil {
		recs = []store.AuditRecord{}
	}
	return http.StatusOK, recs, err
}

func (h *handler) dbStats(r *http.Request, svc *Service) (int, any, error) {
	st, err := svc.DBStats(r.Context())
	return http.StatusOK, st, err
}

func (h *handler) dbCheck(r *http.Request, svc *Service) (int, any, error) {
	err := svc.DBCheck(r.Context())
	return http.StatusOK, struct {
		OK bool `json:"ok"`
	}{true}, err
}

// dbBackup streams a consistent copy of the database file.
func (h *handler) dbBackup(w http.ResponseWriter, r *http.Request) {
	const route = "GET /api/v1/db/backup"
	svc, _, err := h.authorize(r)
	if err == nil {
		// Refuse before the first byte: after it, the status is sent.
		err = backupRequest.extend(w, svc)
	}
	if err != nil {
		status, body := h.failure(w, r, err)
		h.metrics.AdminRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		writeJSON(w, status, body)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="phonelock.db"`)
	n, err := svc.DBBackup(r.Context(), w)
	code := http.StatusOK
	if err != nil {
		code = http.StatusServiceUnavailable
		h.log.Error("database backup failed", "bytes", n, "error", err)
	}
	h.metrics.AdminRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

func (h *handler) unblock(r *http.Request, svc *Service) (int, any, error) {
	v, err := svc.Unblock(r.Context(), r.PathValue("id"))
	return http.StatusOK, v, err
}

func (h *handler) delete(r *http.Request, svc *Service) (int, any, error) {
	err := svc.Delete(r.Context(), r.PathValue("id"))
	return http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{r.PathValue("id")}, err
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body) // the client went away; nothing left to tell it
}
