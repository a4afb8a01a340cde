package httpx

import "net/http"

// CORS headers of the public protocol endpoints.
//
// Spec: Fetch Standard #http-cors-protocol: a preflight is an OPTIONS
// request with Access-Control-Request-Method; "Authorization" is never
// covered by a "*" in Access-Control-Allow-Headers, so it is named.
const (
	corsAllowMethods  = "GET, POST"
	corsAllowHeaders  = "Authorization, DPoP, Content-Type, X-Request-Id"
	corsExposeHeaders = "WWW-Authenticate, DPoP-Nonce, Retry-After, X-Request-Id, Content-Type"
	corsMaxAge        = "600"
)

// CORS makes the endpoints it wraps readable from any origin, so that a
// wallet web app hosted elsewhere can call them. It answers preflights
// itself (204) and sets Access-Control-Allow-Origin: * on every response.
//
// It is for public protocol endpoints only (metadata, token, credential,
// request objects, responses): they take no cookies, and every grant they
// accept travels in the request (pre-authorized code, DPoP, bearer
// token). Never wrap a cookie-authenticated page with it. Because chi
// routes by method, each wrapped pattern also needs an OPTIONS route; see
// [PublicRoutes].
func CORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			if r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", corsAllowMethods)
				h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
				h.Set("Access-Control-Max-Age", corsMaxAge)
			}
			h.Set("Allow", "GET, POST, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		next.ServeHTTP(w, r)
	})
}

// Router is the part of a chi router that [PublicRoutes] needs.
type Router interface {
	Method(method, pattern string, h http.Handler)
}

// PublicRoutes registers cross-origin routes on r: each handler under its
// method and pattern, wrapped in [CORS], and an OPTIONS route for the
// pattern that answers preflights.
type PublicRoutes struct {
	R    Router
	seen map[string]bool
}

// Handle registers h for method and pattern.
func (p *PublicRoutes) Handle(method, pattern string, h http.HandlerFunc) {
	p.R.Method(method, pattern, CORS(h))
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[pattern] {
		p.seen[pattern] = true
		p.R.Method(http.MethodOptions, pattern, CORS(http.NotFoundHandler()))
	}
}
