package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// `token create` prints a token once; the API takes it as its user, and a
// blocked user's token stops working.
func TestTokenCreate(t *testing.T) {
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "Anna Nowak", "--email", "anna@example.com", "--extension", "10001",
		"--ext-password", "k7#Qm2vLx9", "--password", "Str0ng!pass", "--role", "admin")
	tok := strings.TrimSpace(c.ok("", "token", "create", "--email", "Anna@Example.com", "--name", "crm"))
	if !strings.HasPrefix(tok, "sbt_") || len(tok) < 40 || strings.Contains(tok, "\n") {
		t.Fatalf("token: %q", tok)
	}
	if code, _, _ := c.run("", "token", "create", "--email", "nobody@example.com"); code != exitFailed {
		t.Errorf("unknown email: exit %d", code)
	}
	if code, _, _ := c.run("", "token", "create"); code != exitUsage {
		t.Errorf("no email: exit %d", code)
	}

	m := startMain(t, c, "20000-20099", nil)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port(m.WebAddr()))+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(tok); code != 200 || !strings.Contains(body, "anna@example.com") {
		t.Fatalf("GET /api/v1/me: %d %s", code, body)
	}
	if code, _ := get(tok + "x"); code != 401 {
		t.Errorf("a wrong token: %d", code)
	}
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
