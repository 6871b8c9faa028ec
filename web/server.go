package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is the web server's part of the configuration.
type Config struct {
	Addr    string // listen address, e.g. 0.0.0.0:8080
	BaseURL string // how people reach the UI; https:// makes cookies Secure behind a TLS proxy
	// RecordingsDir is where recordings live; a recording is served only
	// from a regular file inside it (no symlinks), matching its row.
	RecordingsDir string

	// StoreTimeout bounds the store calls made while answering one
	// request; past it the request gets 503. Zero: DefaultStoreTimeout.
	StoreTimeout time.Duration

	// How phones reach the registrar, for provisioning and the user's page:
	// SIPHost "" is the host the request came to, SIPPort 0 is 5060,
	// SIPTLSPort 0 means no TLS, SIPTransport "" is udp.
	SIPHost      string
	SIPPort      int
	SIPTLSPort   int
	SIPTransport string
	// Mail overrides the stored SMTP settings field by field (serve's
	// --smtp-* flags).
	Mail MailConfig
	// ConvertAudio turns an uploaded WAV into one of 16-bit PCM at 8 kHz,
	// mono, or says why it cannot (media.ConvertToMono8k, which cmd
	// passes in: web does not import media). Nil: greetings cannot be
	// uploaded.
	ConvertAudio func(io.Reader) ([]byte, error)
}

// Live is the state of the running PBX that the dashboard and the API show.
// Package web does not import sip: cmd passes an implementation in.
type Live interface {
	// Registrations returns the phones registered now.
	Registrations() []directory.Binding
	// ActiveCalls returns the calls in progress.
	ActiveCalls() []ActiveCall
}

// ActiveCall is a call in progress as the dashboard shows it.
type ActiveCall struct {
	CallID    string
	CallerID  int64 // user IDs, 0 when external
	CalleeID  int64
	From, To  string
	State     string // "ringing", "talking", "held", "parked"
	StartedAt time.Time
}

type noLive struct{}

func (noLive) Registrations() []directory.Binding { return nil }
func (noLive) ActiveCalls() []ActiveCall          { return nil }

// Server is the web UI and API server.
type Server struct {
	cfg       Config
	store     directory.Store
	live      Live
	log       *slog.Logger
	tmpl      *template.Template
	cat       catalogs
	throttle  *throttle
	dummyHash func() (string, error) // compared against when the email is unknown, so refusals take as long
	now       func() time.Time
	routes    []Route
	h         http.Handler
	zones     sync.Map // IANA name → *time.Location, loaded once
}

// New parses every template and message catalog (a broken one stops the
// start, not one page) and builds the routes; a route registered without a
// permission rule is an error here. live may be nil (nothing registered).
func New(cfg Config, store directory.Store, live Live, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if live == nil {
		live = noLive{}
	}
	tmpl, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	cat, err := loadCatalogs()
	if err != nil {
		return nil, fmt.Errorf("web locales: %w", err)
	}
	dummy := sync.OnceValues(func() (string, error) { return directory.HashPassword(directory.Password(randomToken(16))) })
	s := &Server{cfg: cfg, store: store, live: live, log: log, tmpl: tmpl, cat: cat,
		throttle: newThrottle(time.Now), dummyHash: dummy, now: func() time.Time { return time.Now().UTC() }}
	if s.h, err = s.build(s.register); err != nil {
		return nil, err
	}
	return s, nil
}

// Routes returns every registered route with its rule, GET routes followed
// by their HEAD twins.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// ServeHTTP makes the Server an http.Handler (tests use httptest).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// Run listens on the configured address and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("web listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down with a bounded grace
// period and returns after every handler has returned. It also prunes
// expired sessions every hour.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("web listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("web serve: %w", err)
		case <-prune.C:
			if n, err := s.store.DeleteExpiredSessions(ctx, s.now()); err != nil {
				s.log.Warn("expired sessions not pruned", "err", err)
			} else if n > 0 {
				s.log.Debug("expired sessions pruned", "n", n)
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// render executes a template into a buffer first, so a failing template
// gives a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; media-src 'self'; "+
		"script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
