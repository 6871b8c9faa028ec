package transport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A renewed certificate written over the files is served at the next
// handshake, without a restart; a broken pair keeps the one in force.
func TestCertFilesReload(t *testing.T) {
	dir := t.TempDir()
	cp, kp, _, err := SelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := LoadCertFiles(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := cf.GetCertificate(nil)
	if again, _ := cf.GetCertificate(nil); again != first {
		t.Error("unchanged files were loaded again")
	}

	// The same paths, a new pair (made elsewhere, then moved in).
	other := t.TempDir()
	cp2, kp2, _, err := SelfSigned(other)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	for _, f := range [][2]string{{cp2, cp}, {kp2, kp}} {
		if err := os.Rename(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(f[1], later, later)
	}
	second, _ := cf.GetCertificate(nil)
	if second == first || string(second.Certificate[0]) == string(first.Certificate[0]) {
		t.Fatal("the renewed certificate is not served")
	}

	// A key that does not match: the renewed certificate stays.
	os.WriteFile(kp, []byte("not a key"), 0o600)
	os.Chtimes(kp, later.Add(time.Minute), later.Add(time.Minute))
	if got, _ := cf.GetCertificate(nil); got != second {
		t.Error("a broken key replaced the certificate in force")
	}

	// A second start finds the pair and does not make another.
	if _, _, made, err := SelfSigned(filepath.Dir(cp)); err != nil || made {
		t.Errorf("second start: made %v, %v", made, err)
	}
	if _, err := LoadCertFiles(cp, filepath.Join(dir, "missing.pem")); err == nil ||
		!strings.Contains(err.Error(), "tls certificate") {
		t.Errorf("missing key: %v", err)
	}
}
