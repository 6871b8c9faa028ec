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

// BenchAudit appends audit entries to a store from open, from 4 goroutines
// at once, as several requests would: each append reads the last hash and
// chains to it under the backend's lock. It reports entries/s.
func BenchAudit(b *testing.B, open func(*testing.B) directory.Store) {
	st := open(b)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := &directory.AuditEntry{ActorID: 0, Actor: "bench@example.com", IP: "192.0.2.1", UserAgent: "bench",
				Action: "user.update", Object: "user:1", Before: `{"name":"a"}`, After: `{"name":"b"}`}
			if err := st.Audit(b.Context(), e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	var c directory.AuditChain
	for after := int64(0); ; {
		es, err := st.AuditRange(b.Context(), after, 1000)
		if err != nil {
			b.Fatal(err)
		}
		for i := range es {
			if err := c.Next(&es[i]); err != nil {
				b.Fatalf("the chain broke under concurrent appends: %v", err)
			}
		}
		if len(es) < 1000 {
			break
		}
		after = es[len(es)-1].ID
	}
}
