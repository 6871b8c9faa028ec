package web

import (
	"context"
	"net/http"
	"time"
)

// DefaultStoreTimeout bounds the store calls made while answering one
// request when Config.StoreTimeout is zero.
const DefaultStoreTimeout = 5 * time.Second

// storeTimeout is the deadline of the store calls of one request.
func (s *Server) storeTimeout() time.Duration {
	if s.cfg.StoreTimeout > 0 {
		return s.cfg.StoreTimeout
	}
	return DefaultStoreTimeout
}

// requestKey keys the request's own context, before the deadline.
type requestKey struct{}

// deadline gives every request a context that ends after the store
// timeout, so that a database that stopped answering (frozen, its network
// gone) costs a request a few seconds and a 503, not minutes: the store
// calls and the connection pool's waits all end with it.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parent := r.Context()
		ctx, cancel := context.WithTimeout(context.WithValue(parent, requestKey{}, parent), s.storeTimeout())
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// moreTime returns a context with a fresh store deadline for a handler that
// goes on after its first answer (an export, page by page): it still ends
// when the client goes.
func (s *Server) moreTime(r *http.Request) (context.Context, context.CancelFunc) {
	parent, ok := r.Context().Value(requestKey{}).(context.Context)
	if !ok {
		parent = r.Context()
	}
	return context.WithTimeout(parent, s.storeTimeout())
}
