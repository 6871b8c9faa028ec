// Package depcheck tells a package's own test what the package in the
// test's directory imports, so that each package holds the direction of
// imports DESIGN.md gives it (media knows no SIP, authz does no I/O, web
// knows no store backend, ...). It asks `go list`.
package depcheck

import (
	"os/exec"
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
