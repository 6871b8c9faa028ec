package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// Session lifetimes: idle sessions end after sessionIdle, every session
// after sessionMax; the store is told of activity at most every touchEvery.
const (
	sessionIdle = 12 * time.Hour
	sessionMax  = 7 * 24 * time.Hour
	touchEvery  = 5 * time.Minute
	maxFormSize = 256 << 10
)

// viewer is who makes a request: the signed-in user with their resolved
// permissions, and how they signed in (a browser session or an API token).
type viewer struct {
	access  *directory.Access
	subj    *authz.Subject
	sid     string // the session cookie's value (browser only)
	session *directory.Session
	token   *directory.APIToken
	loc     *time.Location // the viewer's time zone, once worked out (Server.location)
}

func (v *viewer) user() *directory.User { return &v.access.User }

type ctxKey struct{}

func viewerOf(r *http.Request) *viewer {
	v, _ := r.Context().Value(ctxKey{}).(*viewer)
	return v
}

func withViewer(r *http.Request, v *viewer) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, v))
}

// subject is the authz subject of the request's viewer (nil: may do nothing).
func subject(r *http.Request) *authz.Subject {
	if v := viewerOf(r); v != nil {
		return v.subj
	}
	return nil
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// csrfToken is the form token of a session: derived from the session ID,
// which only the browser holds (the store keeps its hash), so it is bound
// to the session, needs no storage and changes when the session does.
func csrfToken(sid string) string {
	h := sha256.Sum256([]byte("switchboard csrf\x00" + sid))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// secure reports whether cookies must be Secure: TLS on this request, or a
// base URL saying people reach us over https (a TLS-terminating proxy).
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.cfg.BaseURL, "https://")
}

func (s *Server) cookieName(r *http.Request) string {
	if s.secure(r) {
		return "__Host-sb_session" // the prefix pins it to this host, path / and Secure
	}
	return "sb_session"
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, sid string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: sid, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

// sessions loads the viewer of a browser request from its session cookie
// and, for a signed-in viewer, refuses state-changing requests without the
// session's form token.
func (s *Server) sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(s.cookieName(r)); err == nil && c.Value != "" {
			v, err := s.loadSession(r.Context(), c.Value)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if v == nil {
				s.setSessionCookie(w, r, "", -1)
			} else {
				r = withViewer(r, v)
			}
		}
		if v := viewerOf(r); v != nil && !safeMethod(r.Method) {
			limit := int64(maxFormSize)
			if strings.HasPrefix(r.URL.Path, "/users/import") {
				limit = 2 * maxImportSize // the file, and the preview carrying it back
			}
			if strings.HasSuffix(r.URL.Path, "/greeting") {
				limit = maxGreetingUpload*4/3 + 64<<10 // a WAV, in a form or in base64
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(v.sid))) != 1 {
				s.fail(w, r, &authz.DeniedError{Reason: "the form expired or came from another site; reload the page and try again"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// loadSession returns the viewer of session sid, or nil when the session is
// unknown, expired, or its user may no longer sign in.
func (s *Server) loadSession(ctx context.Context, sid string) (*viewer, error) {
	if len(sid) > 100 {
		return nil, nil
	}
	hash := sha256Hex(sid)
	se, err := s.store.Session(ctx, hash)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(se.ExpiresAt) {
		_ = s.store.DeleteSession(ctx, hash)
		return nil, nil
	}
	v, err := s.viewerFor(ctx, se.UserID)
	if err != nil || v == nil {
		if v == nil && err == nil {
			_ = s.store.DeleteSession(ctx, hash)
		}
		return nil, err
	}
	if now.Sub(se.SeenAt) >= touchEvery {
		exp := now.Add(sessionIdle)
		if limit := se.CreatedAt.Add(sessionMax); exp.After(limit) {
			exp = limit
		}
		if err := s.store.TouchSession(ctx, hash, now, exp); err != nil {
			s.log.Warn("session not touched", "user_id", se.UserID, "err", err)
		}
	}
	v.sid, v.session = sid, se
	return v, nil
}

// viewerFor resolves the user's permissions; nil when they may not sign in
// (blocked or deleted since).
func (s *Server) viewerFor(ctx context.Context, userID int64) (*viewer, error) {
	a, err := s.store.Access(ctx, userID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if authz.CanLogin(&a.User) != nil {
		return nil, nil
	}
	return &viewer{access: a, subj: authz.NewSubject(a)}, nil
}

// bearer loads the viewer of an API request from its personal token. API
// requests carry no cookies' authority: a browser session does not open
// the API, so the API needs no CSRF token.
func (s *Server) bearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || len(tok) > 200 {
			s.unauthenticated(w, r, true)
			return
		}
		t, err := s.store.TokenByHash(r.Context(), sha256Hex(strings.TrimSpace(tok)))
		if errors.Is(err, directory.ErrNotFound) {
			s.unauthenticated(w, r, true)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v, err := s.viewerFor(r.Context(), t.UserID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if v == nil {
			s.unauthenticated(w, r, true)
			return
		}
		now := s.now()
		if now.Sub(t.LastUsedAt) >= time.Minute {
			if err := s.store.TouchToken(r.Context(), t.ID, now); err != nil {
				s.log.Warn("token not touched", "user_id", t.UserID, "err", err)
			}
		}
		v.token = t
		next.ServeHTTP(w, withViewer(r, v))
	})
}

// unauthenticated answers a request that needs a signed-in viewer and has
// none: 401 on the API, the login page in the browser.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, api bool) {
	if api {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		writeJSON(w, http.StatusUnauthorized, map[string]apiError{"error": {Code: "unauthorized",
			Message: "a valid API token is required (Authorization: Bearer …)"}})
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	s.fail(w, r, &authz.DeniedError{Reason: "sign in first"})
}

type loginPage struct {
	Email, Next string
	Error       string // a locale key
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if viewerOf(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p := s.page(r, "login.title")
	p.Data = loginPage{Next: localPath(r.URL.Query().Get("next"))}
	s.render(w, r, http.StatusOK, "login.html", p)
}

// login checks email and password. Every refusal looks the same, unknown
// email, wrong password, blocked or deleted account alike, and takes as
// long; the throttle counts failures per email and per source address.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	email := directory.NormalizeEmail(r.PostFormValue("email"))
	pw := directory.Password(r.PostFormValue("password"))
	lp := loginPage{Email: email, Next: localPath(r.PostFormValue("next"))}
	src := sourceKey(r.RemoteAddr)
	refuse := func(status int, key string) {
		p := s.page(r, "login.title")
		lp.Error = key
		p.Data = lp
		s.render(w, r, status, "login.html", p)
	}
	if !s.throttle.allowed(email, src) {
		s.log.Warn("login throttled", "src", src)
		s.audit(r, nil, "user.login.throttled", "email:"+email, "")
		refuse(http.StatusTooManyRequests, "login.throttled")
		return
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	hash, err := s.dummyHash()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	good := directory.CheckPassword(hash, pw) && u != nil && authz.CanLogin(u) == nil
	if !good {
		s.throttle.failed(email, src)
		s.audit(r, nil, "user.login.failed", "email:"+email, "")
		refuse(http.StatusUnauthorized, "login.failed")
		return
	}
	s.throttle.succeeded(email, src)
	// A new session ID at every login: whatever ID the browser brought (one
	// planted by someone else, say) is dropped, never promoted.
	if c, err := r.Cookie(s.cookieName(r)); err == nil && c.Value != "" && len(c.Value) <= 100 {
		_ = s.store.DeleteSession(ctx, sha256Hex(c.Value))
	}
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, &viewer{access: &directory.Access{User: *u}}, "user.login", "user:"+itoa(u.ID), "")
	next := lp.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// startSession makes a new session for u and sets its cookie: at login,
// and after a password change has ended every other session.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *directory.User) error {
	sid := randomToken(32)
	now := s.now()
	se := &directory.Session{IDHash: sha256Hex(sid), UserID: u.ID, CreatedAt: now, SeenAt: now,
		ExpiresAt: now.Add(sessionIdle), IP: strings.TrimPrefix(sourceKey(r.RemoteAddr), "ip:"), UserAgent: truncate(r.UserAgent(), 300)}
	if err := s.store.CreateSession(r.Context(), se); err != nil {
		return err
	}
	s.setSessionCookie(w, r, sid, int(sessionMax/time.Second))
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	if err := s.store.DeleteSession(r.Context(), sha256Hex(v.sid)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// localPath accepts only a path on this site as a place to return to.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || len(p) > 500 {
		return ""
	}
	return p
}

// audit writes an entry for what v did; a failure is logged, not shown:
// the change itself is done.
func (s *Server) audit(r *http.Request, v *viewer, action, object, detail string) {
	s.auditChange(r, v, action, object, detail, nil, nil)
}

// auditChange is audit for a change: before and after hold the fields it
// changed (JSON objects in the entry), secrets already redacted by the
// caller (directory.Redacted). Every entry gets the request's source
// address and user agent.
func (s *Server) auditChange(r *http.Request, v *viewer, action, object, detail string, before, after map[string]any) {
	e := &directory.AuditEntry{Action: action, Object: object, Detail: detail, IP: remoteIP(r.RemoteAddr),
		UserAgent: truncate(r.UserAgent(), 300), Before: changeJSON(before), After: changeJSON(after)}
	if v != nil {
		e.ActorID, e.Actor = v.user().ID, v.user().Email
		if v.token != nil {
			e.Actor += " (API token " + v.token.Prefix + ")"
		}
	}
	if err := s.store.Audit(r.Context(), e); err != nil {
		s.log.Error("audit not written", "action", action, "object", object, "err", err)
	}
}

// changedFields keeps the fields whose values differ between before and
// after (compared as printed): what a change's audit entry shows.
func changedFields(before, after map[string]any) (map[string]any, map[string]any) {
	b, a := map[string]any{}, map[string]any{}
	for k, v := range after {
		if fmt.Sprint(before[k]) != fmt.Sprint(v) {
			b[k], a[k] = before[k], v
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok {
			b[k], a[k] = v, nil
		}
	}
	return b, a
}

// changeJSON encodes a change's fields; nil or empty is "".
func changeJSON(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}

// remoteIP is the address of the connection, without the port: the server
// trusts no forwarding header.
func remoteIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
