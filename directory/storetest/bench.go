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

// BenchSearch searches the folded text of 5,000 users and 5,000 contacts
// with Polish and Vietnamese names in a store from open: the first page of
// users matching "anh" (a tenth of them, as "Ánh"), of contacts matching
// "lukasz" (as "Łukasz") and of contacts whose phone holds "+48 22-123"
// typed with spaces and a dash, and the count of the users.
func BenchSearch(b *testing.B, open func(*testing.B) directory.Store) {
	const n = 5_000
	st := open(b)
	ctx := b.Context()
	first := []string{"Ánh", "Łukasz", "Đức", "Zofia", "Thảo", "Paweł", "Hương", "Małgorzata", "Quân", "Józef"}
	last := []string{"Nguyễn", "Nowak", "Trần", "Wiśniewska", "Phạm", "Wójcik", "Lê", "Kowalczyk"}
	us := make([]*directory.User, n)
	for i := range us {
		ext := fmt.Sprint(100000 + i)
		us[i] = &directory.User{Name: first[i%len(first)] + " " + last[i%len(last)] + fmt.Sprint(" ", i),
			Email: "s" + ext + "@example.com", Extension: ext,
			SIP: directory.NewSIPSecret(ext, "switchboard.local", "Ext-pass-1!")}
	}
	if err := st.CreateUsers(ctx, us); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		c := &directory.Contact{Name: first[i%len(first)] + " " + last[i%len(last)], Company: fmt.Sprint("Firma ", i),
			Phones: []string{fmt.Sprintf("+48 22 %03d %02d %02d", i%1000, i%97, i%89)}}
		if err := c.Validate("PL"); err != nil {
			b.Fatal(err)
		}
		if err := st.CreateContact(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	all := directory.Visibility{All: true}
	for _, bc := range []struct {
		name string
		run  func() (int, error)
	}{
		{"users anh", func() (int, error) {
			us, err := st.Users(ctx, directory.UserFilter{Search: "anh", Vis: all})
			return len(us), err
		}},
		{"count users anh", func() (int, error) {
			return st.CountUsers(ctx, directory.UserFilter{Search: "anh", Vis: all})
		}},
		{"contacts lukasz", func() (int, error) {
			cs, err := st.Contacts(ctx, directory.ContactFilter{Search: "lukasz", Vis: all})
			return len(cs), err
		}},
		{"contacts +48 22-123", func() (int, error) {
			cs, err := st.Contacts(ctx, directory.ContactFilter{Search: "+48 22-123", Vis: all})
			return len(cs), err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got, err := bc.run(); err != nil || got == 0 {
					b.Fatalf("%d found, %v", got, err)
				}
			}
		})
	}
}
