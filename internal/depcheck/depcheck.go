// Package depcheck tells a package's own test what the package in the
// test's directory imports, so that each package holds the direction of
// imports DESIGN.md gives it (media knows no SIP, authz does no I/O, web
// knows no store backend, ...). It asks `go list`.
package depcheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Package is what go list says of the package in the current directory.
type Package struct {
	Module  string   // the module's path
	Path    string   // the package's import path
	Imports []string // its direct imports
	Deps    []string // every package it depends on, itself left out
}

// Load lists the package in the current directory (a test's own).
func Load(t testing.TB) Package {
	t.Helper()
	list := func(args ...string) []string {
		out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
		}
		return strings.Fields(string(out))
	}
	p := Package{Module: list("-m")[0], Path: list(".")[0], Imports: list("-f", `{{join .Imports " "}}`, ".")}
	for _, d := range list("-deps", ".") {
		if d != p.Path {
			p.Deps = append(p.Deps, d)
		}
	}
	return p
}

// Ours returns the packages of this module the package depends on, as
// paths inside the module ("directory", "sip/digest").
func (p Package) Ours() []string {
	var out []string
	for _, d := range p.Deps {
		if rel, ok := strings.CutPrefix(d, p.Module+"/"); ok {
			out = append(out, rel)
		}
	}
	return out
}

// features are package sip's features, each a package over the call core
// (sip/call).
var features = []string{"sip/forward", "sip/intercom", "sip/ivr", "sip/monitor", "sip/paging", "sip/park",
	"sip/pickup", "sip/queue", "sip/record", "sip/transfer", "sip/voicemail"}

// Feature fails t unless the package, one of package sip's features,
// stands where the layers put it: over the call core, under package sip,
// which wires it, and beside the other features, of which it imports only
// those named in uses (as "sip/record"). It must not reach the web, the
// commands or a store backend either.
func (p Package) Feature(t testing.TB, uses ...string) {
	t.Helper()
	self, _ := strings.CutPrefix(p.Path, p.Module+"/")
	for _, d := range p.Ours() {
		switch {
		case d == "sip":
			t.Errorf("%s imports package sip: a feature is wired by the server, it does not reach up to it", self)
		case d == "web" || strings.HasPrefix(d, "web/") || strings.HasPrefix(d, "cmd/") ||
			strings.HasPrefix(d, "directory/"):
			t.Errorf("%s imports %s: a feature knows the directory's types, not the web, a command or a store backend", self, d)
		}
	}
	var direct []string
	for _, d := range p.Imports {
		if rel, ok := strings.CutPrefix(d, p.Module+"/"); ok {
			direct = append(direct, rel)
		}
	}
	for _, d := range direct {
		if slices.Contains(features, d) && !slices.Contains(uses, d) {
			t.Errorf("%s imports the feature %s: a feature uses the call core, not another feature's internals", self, d)
		}
	}
	for _, u := range uses {
		if !slices.Contains(direct, u) {
			t.Errorf("%s is said to use %s, and does not: take it off the list", self, u)
		}
	}
}
