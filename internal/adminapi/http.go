package adminapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

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

// Register adds the admin API routes to mux, served by svc. Every change is
// audited with the API as its source and the client's address.
func Register(mux *http.ServeMux, svc *Service, log *slog.Logger, m *metrics.Metrics) {
	h := &handler{svc: svc, log: log, metrics: m}
	h.handle(mux, "GET /api/v1/extensions", h.list)
	h.handle(mux, "GET /api/v1/extensions/{id}", h.show)
	h.handle(mux, "PATCH /api/v1/extensions/{id}", h.set)
	h.handle(mux, "POST /api/v1/extensions/{id}/block", h.block)
	h.handle(mux, "POST /api/v1/extensions/{id}/unblock", h.unblock)
	h.handle(mux, "DELETE /api/v1/extensions/{id}", h.delete)
}

type handler struct {
	svc     *Service
	log     *slog.Logger
	metrics *metrics.Metrics
}

// apiFunc serves one route: it returns the status and the body to encode.
type apiFunc func(r *http.Request, svc *Service) (int, any, error)

func (h *handler) handle(mux *http.ServeMux, pattern string, fn apiFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		svc := h.svc.WithActor(store.Actor{Name: "api", Source: "api", Addr: r.RemoteAddr})
		status, body, err := 0, any(nil), refuseBrowser(r)
		if err == nil {
			status, body, err = fn(r, svc)
		}
		if err != nil {
			status, body = h.failure(r, err)
		}
		h.metrics.AdminRequests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
		if r.Method != http.MethodGet {
			h.log.Info("admin change", "method", r.Method, "path", r.URL.Path,
				"status", status, "remote_addr", r.RemoteAddr)
		}
		writeJSON(w, status, body)
	})
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
	case r.Method != http.MethodGet && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		return newError(ErrForbidden, "browser_refused", "changes need Content-Type: application/json")
	}
	return nil
}

func (h *handler) failure(r *http.Request, err error) (int, any) {
	var e *Error
	if !errors.As(err, &e) {
		e = newError(ErrUnavailable, "internal", err.Error())
	}
	status := statusOf(e.Kind)
	if status >= 500 {
		h.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	var body errorBody
	body.Error.Code, body.Error.Message = e.Code, e.Message
	return status, body
}

func statusOf(kind error) int {
	switch kind {
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

func (h *handler) set(r *http.Request, svc *Service) (int, any, error) {
	var req SetRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		return 0, nil, newError(ErrInvalid, "invalid_body", "request body: "+err.Error())
	}
	if dec.More() {
		return 0, nil, newError(ErrInvalid, "invalid_body", "request body: one JSON object, nothing after it")
	}
	v, err := svc.Set(r.Context(), r.PathValue("id"), req)
	return http.StatusOK, v, err
}

func (h *handler) block(r *http.Request, svc *Service) (int, any, error) {
	v, err := svc.Block(r.Context(), r.PathValue("id"))
	return http.StatusOK, v, err
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
