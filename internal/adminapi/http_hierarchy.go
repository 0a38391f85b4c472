package adminapi

import (
	"context"
	"net/http"
)

// registerHierarchy adds the routes of the hierarchy and of tokens.
func (h *handler) registerHierarchy(mux *http.ServeMux) {
	h.handle(mux, "GET /api/v1/service-providers", func(r *http.Request, svc *Service) (int, any, error) {
		list, err := svc.ServiceProviders(r.Context())
		return http.StatusOK, list, err
	})
	h.handle(mux, "POST /api/v1/service-providers", func(r *http.Request, svc *Service) (int, any, error) {
		return create(r, svc.AddServiceProvider)
	})
	h.handle(mux, "GET /api/v1/service-providers/{id}", func(r *http.Request, svc *Service) (int, any, error) {
		sp, err := svc.ServiceProvider(r.Context(), r.PathValue("id"))
		return http.StatusOK, sp, err
	})
	h.handle(mux, "DELETE /api/v1/service-providers/{id}", func(r *http.Request, svc *Service) (int, any, error) {
		return deleted(r, svc.DeleteServiceProvider)
	})

	h.handle(mux, "GET /api/v1/organizations", func(r *http.Request, svc *Service) (int, any, error) {
		list, err := svc.Organizations(r.Context())
		return http.StatusOK, list, err
	})
	h.handle(mux, "POST /api/v1/organizations", func(r *http.Request, svc *Service) (int, any, error) {
		return create(r, svc.AddOrganization)
	})
	h.handle(mux, "GET /api/v1/organizations/{id}", func(r *http.Request, svc *Service) (int, any, error) {
		o, err := svc.Organization(r.Context(), r.PathValue("id"))
		return http.StatusOK, o, err
	})
	h.handle(mux, "DELETE /api/v1/organizations/{id}", func(r *http.Request, svc *Service) (int, any, error) {
		return deleted(r, svc.DeleteOrganization)
	})

	h.handle(mux, "GET /api/v1/users", func(r *http.Request, svc *Service) (int, any, error) {
		list, err := svc.Users(r.Context())
		return http.StatusOK, list, err
	})
	h.handle(mux, "POST /api/v1/users", func(r *http.Request, svc *Service) (int, any, error) {
		return create(r, svc.AddUser)
	})
	h.handle(mux, "GET /api/v1/users/{id}", func(r *http.Request, svc *Service) (int, any, error) {
		u, err := svc.User(r.Context(), r.PathValue("id"))
		return http.StatusOK, u, err
	})
	h.handle(mux, "DELETE /api/v1/users/{id}", func(r *http.Request, svc *Service) (int, any, error) {
		return deleted(r, svc.DeleteUser)
	})

	h.handle(mux, "GET /api/v1/tokens", func(r *http.Request, svc *Service) (int, any, error) {
		list, err := svc.Tokens(r.Context())
		return http.StatusOK, list, err
	})
	h.handle(mux, "POST /api/v1/tokens", func(r *http.Request, svc *Service) (int, any, error) {
		return create(r, svc.CreateToken)
	})
	h.handle(mux, "DELETE /api/v1/tokens/{id}", func(r *http.Request, svc *Service) (int, any, error) {
		id := r.PathValue("id")
		return http.StatusOK, struct {
			Revoked string `json:"revoked"`
		}{id}, svc.RevokeToken(r.Context(), id)
	})
}

// create decodes the body into a request and answers 201 with what add
// made of it.
func create[Req, Resp any](r *http.Request, add func(ctx context.Context, req Req) (Resp, error)) (int, any, error) {
	var req Req
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	resp, err := add(r.Context(), req)
	return http.StatusCreated, resp, err
}

// deleted removes the record the path names.
func deleted(r *http.Request, del func(ctx context.Context, id string) error) (int, any, error) {
	id := r.PathValue("id")
	return http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{id}, del(r.Context(), id)
}

// whoami describes the token the request carries.
func (h *handler) whoami(r *http.Request, svc *Service) (int, any, error) {
	who, err := h.svc.Authenticate(bearer(r))
	return http.StatusOK, who, err
}
