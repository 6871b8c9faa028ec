package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/web"
)

// Back-off of the tries to reach the database at start.
const (
	storeRetryFirst = time.Second
	storeRetryMax   = 30 * time.Second
	// retryAfter is what SIP and the web tell clients meanwhile, in seconds.
	retryAfter = 10
)

// openStoreWaiting opens the store. A database that does not answer (a
// power cut where the PBX boots first) is tried again with back-off until
// it does or ctx ends; meanwhile SIP answers 503 with Retry-After and the
// web a 503 page, on the listeners already bound. A bad URL or a refusal
// (bad credentials, no such database) returns at once.
func (m *Main) openStoreWaiting(ctx context.Context) error {
	st, err := openStore(ctx, &m.Config, m.Log)
	if err == nil || !errors.Is(err, directory.ErrUnavailable) {
		m.Store = st
		return err
	}
	stop := m.serveUnavailable()
	defer stop()
	delay := storeRetryFirst
	for attempt := 1; ; attempt++ {
		m.Log.Warn("database unreachable; trying again", "attempt", attempt, "err", oneLine(err),
			"next_try", time.Now().Add(delay).UTC().Format(time.RFC3339), "in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		st, err = openStore(ctx, &m.Config, m.Log)
		if err == nil || !errors.Is(err, directory.ErrUnavailable) {
			m.Store = st
			if err == nil {
				m.Log.Info("database reachable", "attempts", attempt+1)
			}
			return err
		}
		delay = min(2*delay, storeRetryMax)
	}
}

// serveUnavailable answers on the SIP and web listeners until the returned
// function is called, which hands them back untouched for the real servers.
func (m *Main) serveUnavailable() (stop func()) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	stopped := false
	var conns []net.Conn
	done := func() bool { mu.Lock(); defer mu.Unlock(); return stopped }

	parser := sipgosip.NewParser()
	answer := func(data []byte, write func([]byte)) {
		msg, err := parser.ParseSIP(data)
		req, ok := msg.(*sipgosip.Request)
		if err != nil || !ok || req.IsAck() {
			return
		}
		res := sipgosip.NewResponseFromRequest(req, sipgosip.StatusServiceUnavailable, "Service Unavailable", nil)
		res.AppendHeader(sipgosip.NewHeader("Retry-After", strconv.Itoa(retryAfter)))
		write([]byte(res.String()))
	}
	wg.Go(func() {
		buf := make([]byte, 65535)
		for {
			n, addr, err := m.sipUDP.ReadFrom(buf)
			if err != nil {
				if done() {
					return
				}
				continue
			}
			answer(buf[:n], func(b []byte) { _, _ = m.sipUDP.WriteTo(b, addr) })
		}
	})
	wg.Go(func() {
		for {
			c, err := m.sipTCP.Accept()
			if err != nil {
				if done() {
					return
				}
				continue
			}
			mu.Lock()
			if stopped {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 65535)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					answer(buf[:n], func(b []byte) { _, _ = c.Write(b) })
				}
			})
		}
	})
	srv := &http.Server{Handler: web.Unavailable(retryAfter), ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() { _ = srv.Serve(keepOpen{m.webLn}) })

	return func() {
		mu.Lock()
		stopped = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		now := time.Now()
		_ = m.sipUDP.SetReadDeadline(now)
		setDeadline(m.sipTCP, now)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(ctx) // closes keepOpen: Accept ends, the listener stays
		cancel()
		wg.Wait()
		_ = m.sipUDP.SetReadDeadline(time.Time{})
		setDeadline(m.sipTCP, time.Time{})
		setDeadline(m.webLn, time.Time{})
	}
}

// keepOpen is a listener whose Close only ends a pending Accept, so that
// the real web server can take it over.
type keepOpen struct{ net.Listener }

func (k keepOpen) Close() error {
	setDeadline(k.Listener, time.Now())
	return nil
}

func setDeadline(ln net.Listener, t time.Time) {
	if d, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
		_ = d.SetDeadline(t)
	}
}
