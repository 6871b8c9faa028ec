package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// BenchImportUsers imports files the way `switchboard user import` does
// (parse, check against the store, hash, one transaction) into a store
// from open, 10,000 users without web passwords and 1,000 with.
func BenchImportUsers(b *testing.B, open func(*testing.B) directory.Store) {
	for _, bc := range []struct {
		name        string
		users       int
		webPassword bool
	}{
		{"10000 users without web passwords", 10_000, false},
		{"1000 users with web passwords", 1_000, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := open(b)
			b.ReportAllocs()
			iter := 0
			for b.Loop() {
				src := importFile(iter, bc.users, bc.webPassword)
				us, err := directory.ImportUsers(b.Context(), st, strings.NewReader(src), directory.DefaultPasswordPolicy)
				if err != nil || len(us) != bc.users {
					b.Fatalf("import: %d users, %v", len(us), err)
				}
				iter++
			}
			b.ReportMetric(float64(iter*bc.users)/b.Elapsed().Seconds(), "users/s")
		})
	}
}

// importFile is the iter-th file of n users: extensions and emails of
// its own, so that one store takes several.
func importFile(iter, n int, webPassword bool) string {
	var sb strings.Builder
	sb.WriteString("name,email,extension,ext_password,password,role,group\n")
	for i := range n {
		id := iter*n + i
		pw := ""
		if webPassword {
			pw = fmt.Sprintf("Web-Pa55-%d!q", id)
		}
		fmt.Fprintf(&sb, "User %d,u%d@example.com,%d,Ext-pass-%d!x,%s,agent,\n", id, id, 100000+id, id, pw)
	}
	return sb.String()
}
