package provision

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// account is the account of the golden files: a name and password with
// characters each format must escape.
func account(mac string) Account {
	return Account{MAC: mac, Label: "Front desk", Extension: "1001", Password: `p<&>"'w=1`,
		DisplayName: "Zoë <Reception> & Co", Domain: "pbx.example.com", Host: "sip.example.com", Port: 5080,
		Transport: "tcp", Language: "pl", PhoneBookURL: "https://pbx.example.com/provision/TOKEN/phonebook.xml"}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file (run with -update to write it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestProvisionGolden(t *testing.T) {
	const mac = "001565abcdef"
	for _, c := range []struct {
		vendor directory.Vendor
		name   string // as the phone asks for it
		golden string
	}{
		{directory.Yealink, "001565ABCDEF.cfg", "yealink.cfg"},
		{directory.Grandstream, "cfg001565abcdef.xml", "grandstream.xml"},
		{directory.Polycom, "001565abcdef.cfg", "polycom.cfg"},
		{directory.Polycom, "001565abcdef-phone.cfg", "polycom-phone.cfg"},
		{directory.Snom, "001565abcdef.xml", "snom.xml"},
		{directory.Linphone, "linphone.xml", "linphone.xml"},
	} {
		t.Run(c.golden, func(t *testing.T) {
			a := account(mac)
			if c.vendor == directory.Linphone {
				a.MAC = ""
			}
			f, err := Render(c.vendor, c.name, a)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, f.Body)
			if strings.HasSuffix(c.golden, ".xml") || c.vendor == directory.Polycom {
				if err := wellFormed(f.Body); err != nil {
					t.Errorf("%s is not well-formed XML: %v", c.golden, err)
				}
			}
			if c.golden != "polycom.cfg" && !bytes.Contains(f.Body, []byte("1001")) {
				t.Errorf("%s does not name the extension", c.golden)
			}
		})
	}
}

func TestProvisionPhoneBookGolden(t *testing.T) {
	entries := []Entry{{"Anna Nowak", "1002"}, {"Acme & Sons <sales>", "+48221234567"}}
	for v, name := range map[directory.Vendor]string{directory.Yealink: "phonebook-yealink.xml",
		directory.Grandstream: "phonebook-grandstream.xml", directory.Snom: "phonebook-snom.xml",
		directory.Polycom: "phonebook-polycom.xml"} {
		f, err := PhoneBook(v, "Switchboard", entries)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name, f.Body)
		if err := wellFormed(f.Body); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestProvisionOtherFiles: only the device's own files are rendered, so a
// URL of one device never serves a file named for another MAC.
func TestProvisionOtherFiles(t *testing.T) {
	a := account("001565abcdef")
	for _, c := range []struct {
		v    directory.Vendor
		name string
	}{
		{directory.Yealink, "001565abcdee.cfg"},
		{directory.Yealink, "y000000000000.cfg"},
		{directory.Yealink, "../001565abcdef.cfg"},
		{directory.Grandstream, "001565abcdef.cfg"},
		{directory.Snom, "cfg001565abcdef.xml"},
		{directory.Linphone, "001565abcdef.xml"},
		{"cisco", "001565abcdef.cfg"},
	} {
		if _, err := Render(c.v, c.name, a); !errors.Is(err, ErrNoFile) {
			t.Errorf("Render %s %q: %v, want ErrNoFile", c.v, c.name, err)
		}
	}
}

// TestProvisionKeyValueInjection: a display name with a newline cannot add
// a key to a Yealink file.
func TestProvisionKeyValueInjection(t *testing.T) {
	a := account("001565abcdef")
	a.DisplayName = "Eve\naccount.1.sip_server.1.address = evil.example"
	f, err := Render(directory.Yealink, "001565abcdef.cfg", a)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(f.Body), "\n") {
		if strings.HasPrefix(line, "account.1.sip_server.1.address") && !strings.HasSuffix(line, "pbx.example.com") {
			t.Errorf("injected line: %q", line)
		}
	}
}

func TestProvisionSealRoundTrip(t *testing.T) {
	tok := NewToken()
	sealed, err := Seal(tok, "Ext-pass-1!")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "Ext-pass") || strings.Contains(TokenHash(tok), tok) {
		t.Error("sealed value or hash shows the secret")
	}
	pw, err := Open(tok, sealed)
	if err != nil || pw != "Ext-pass-1!" {
		t.Errorf("Open: %q %v", pw, err)
	}
	if _, err := Open(NewToken(), sealed); !errors.Is(err, ErrSealed) {
		t.Errorf("Open with another token: %v, want ErrSealed", err)
	}
	if _, err := Open(tok, "!!"); !errors.Is(err, ErrSealed) {
		t.Errorf("Open of garbage: %v, want ErrSealed", err)
	}
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}

func BenchmarkProvisionRender(b *testing.B) {
	a := account("001565abcdef")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(directory.Yealink, "001565abcdef.cfg", a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProvisionPhoneBook(b *testing.B) {
	entries := make([]Entry, 2000)
	for i := range entries {
		entries[i] = Entry{Name: "Anna Nowak", Number: "+48221234567"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PhoneBook(directory.Grandstream, "Switchboard", entries); err != nil {
			b.Fatal(err)
		}
	}
}
