package authz_test

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// benchSubject is a team lead with a department of 50 users (IDs 100–149).
func benchSubject() *authz.Subject {
	dept := make([]int64, 50)
	for i := range dept {
		dept[i] = int64(100 + i)
	}
	return authz.NewSubject(access(120, directory.UserActive, []directory.Role{agentRole, leadRole}, nil, dept))
}

func BenchmarkNewSubject(b *testing.B) {
	dept := make([]int64, 50)
	for i := range dept {
		dept[i] = int64(100 + i)
	}
	a := access(120, directory.UserActive, []directory.Role{agentRole, leadRole},
		map[string]string{"calls.history": "any"}, dept)
	b.ReportAllocs()
	for b.Loop() {
		authz.NewSubject(a)
	}
}

func BenchmarkEffective(b *testing.B) {
	s := benchSubject()
	b.ReportAllocs()
	for b.Loop() {
		if s.Effective(authz.ContactsDelete).Scope != authz.ScopeOwn {
			b.Fatal("wrong scope")
		}
	}
}

func BenchmarkCan(b *testing.B) {
	s := benchSubject()
	// The department member at the end of the list, as callee of an external call.
	r := authz.RecordingResource(&directory.Recording{CallerID: 0, CalleeID: 149})
	b.ReportAllocs()
	for b.Loop() {
		if authz.Can(s, authz.RecordingsListen, r) != nil {
			b.Fatal("refused")
		}
	}
}

func BenchmarkVisibility(b *testing.B) {
	s := benchSubject()
	b.ReportAllocs()
	for b.Loop() {
		if v := authz.Visibility(s, authz.CallsHistory); len(v.UserIDs) != 50 {
			b.Fatal("wrong filter")
		}
	}
}

func BenchmarkOutbound(b *testing.B) {
	s := authz.NewSubject(access(120, directory.UserActive, []directory.Role{staffCallerRole}, nil, nil))
	const number = "+48601000200"
	// Three contacts share the number, none visible; an employee has it as mobile.
	contacts := []directory.Contact{
		{Phones: []string{"+48221234567", number}, AssignedTo: 7},
		{Phones: []string{number}, AssignedTo: 8},
		{Phones: []string{number}, AssignedTo: 9, CreatedBy: 9},
	}
	employees := []directory.User{{ID: 4, State: directory.UserActive, Extension: "10004", Mobile: number}}
	b.ReportAllocs()
	for b.Loop() {
		if authz.Outbound(s, number, contacts, employees) != nil {
			b.Fatal("refused")
		}
	}
}
