package directory_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestValidateExtension(t *testing.T) {
	for _, tc := range []struct {
		ext string
		ok  bool
	}{
		{"10000", true}, {"999999", true}, {"10001", true}, {"123456", true},
		{"9999", false}, {"1000000", false}, {"01000", false}, {"012345", false}, {"1000a", false},
		{"", false}, {" 10000", false}, {"+10000", false}, {"１００００", false},
	} {
		err := directory.ValidateExtension("extension", tc.ext)
		if (err == nil) != tc.ok {
			t.Errorf("extension %q: err %v, want ok=%v", tc.ext, err, tc.ok)
		}
		if err != nil && !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("extension %q: %v is not ErrInvalid", tc.ext, err)
		}
	}
	err := directory.ValidateExtension("extension", "9999")
	if got := err.Error(); got != "extension: must be 5 or 6 digits between 10000 and 999999" {
		t.Errorf("message %q", got)
	}
}

func TestPasswordPolicy(t *testing.T) {
	p := directory.DefaultPasswordPolicy
	for _, tc := range []struct {
		name, pw, rule string
	}{
		{"too short", "Ab1!", "must be at least 8 characters"},
		{"needs lower", "ABCDEFG1!", "must contain a lower-case letter"},
		{"needs upper", "abcdefg1!", "must contain an upper-case letter"},
		{"needs digit", "Abcdefgh!", "must contain a digit"},
		{"needs special", "Abcdefgh1", "must contain a special character such as !@*$&"},
		{"common password decorated", "Password1!", "is too common or too easy to guess"},
		{"common password", "P@ssw0rd", "is too common or too easy to guess"},
		{"contains the email, is not it", "Anna@example.com1", ""},
		{"good", "Str0ng!pass", ""},
		{"64+ characters accepted", "Correct-Horse-Battery-Staple-" + strings.Repeat("x", 40) + "A1", ""},
		{"Vietnamese passphrase", "Mật khẩu Mạnh 2024!", ""},
	} {
		err := p.Check(tc.pw, "anna@example.com", "Anna")
		switch {
		case tc.rule == "" && err != nil:
			t.Errorf("%s: %q refused: %v", tc.name, tc.pw, err)
		case tc.rule != "" && (err == nil || err.Error() != "password: "+tc.rule):
			t.Errorf("%s: %q: got %v, want password: %s", tc.name, tc.pw, err, tc.rule)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := directory.HashPassword("Str0ng!pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q: want argon2id with m=19 MiB, t=2", h)
	}
	if !directory.CheckPassword(h, "Str0ng!pass") {
		t.Error("right password refused")
	}
	for _, bad := range []directory.Password{"str0ng!pass", "", "Str0ng!pass "} {
		if directory.CheckPassword(h, bad) {
			t.Errorf("wrong password %q accepted", string(bad))
		}
	}
	for _, hash := range []string{"", "$argon2id$", "$argon2id$v=19$m=0,t=0,p=0$$", h[:len(h)-5], "$2a$10$abc"} {
		if directory.CheckPassword(hash, "Str0ng!pass") {
			t.Errorf("malformed hash %q matched", hash)
		}
	}
	if h2, _ := directory.HashPassword("Str0ng!pass"); h2 == h {
		t.Error("two hashes of one password are equal: salt missing")
	}
}

func TestGeneratePassword(t *testing.T) {
	for range 50 {
		pw := directory.GeneratePassword(16)
		if len(pw) != 16 {
			t.Fatalf("len %d", len(pw))
		}
		if err := directory.DefaultPasswordPolicy.Check(string(pw), "", ""); err != nil {
			t.Fatalf("generated %q fails the policy: %v", string(pw), err)
		}
		if err := directory.ValidateExtPassword(string(pw), "10001"); err != nil {
			t.Fatalf("generated %q is not a valid extension password: %v", string(pw), err)
		}
	}
}

func TestExtPassword(t *testing.T) {
	for _, tc := range []struct {
		pw, ext string
		ok      bool
	}{
		{"k7#Qm2vLx9", "10001", true},
		{"short", "10001", false},
		{"10001", "10001", false},
		{"pw-10001-x", "10001", false},
		{"has space in", "10001", false},
		{"ünïcödé-pw", "10001", false},
	} {
		if err := directory.ValidateExtPassword(tc.pw, tc.ext); (err == nil) != tc.ok {
			t.Errorf("ext password %q: %v, want ok=%v", tc.pw, err, tc.ok)
		}
	}
}

func TestSIPSecret(t *testing.T) {
	// RFC 2617 style: HA1 = MD5("10001:pbx.example.com:secret").
	s := directory.NewSIPSecret("10001", "pbx.example.com", "secret")
	if s.HA1MD5 != "0e211f301538a28329eb6d9f76d038b6" {
		t.Errorf("HA1 MD5 %q", s.HA1MD5)
	}
	if s.HA1SHA256 != "4c20f4e47cdc61a4975677ca00beef7c7452460b3aa6367b8ce0de3fd5e459b1" || s.Realm != "pbx.example.com" {
		t.Errorf("secret %+v", s)
	}
	if s2 := directory.NewSIPSecret("10001", "other", "secret"); s2.HA1MD5 == s.HA1MD5 {
		t.Error("HA1 does not depend on the realm")
	}
}

func TestNormalizePhone(t *testing.T) {
	for _, tc := range []struct {
		raw, cc, want string
	}{
		{"22 123 45 67", "PL", "+48221234567"},
		{"+48 (22) 123-45-67", "VN", "+48221234567"},
		{"0048221234567", "VN", "+48221234567"},
		{"601 000 200", "PL", "+48601000200"},
		{"0912 345 678", "VN", "+84912345678"},
		{"028 3823 4567", "vn", "+842838234567"},
	} {
		got, err := directory.NormalizePhone(tc.raw, tc.cc)
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q, %s) = %q, %v; want %q", tc.raw, tc.cc, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "abc", "12", "+", strings.Repeat("9", 60)} {
		if _, err := directory.NormalizePhone(bad, "PL"); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("NormalizePhone(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func TestNewUserValidateNamesEveryField(t *testing.T) {
	n := directory.NewUser{Name: "", Email: "not-an-email", Extension: "123", ExtPassword: "123", Mobile: "0601", Language: "de"}
	err := n.Validate(directory.DefaultPasswordPolicy)
	got := map[string]bool{}
	for _, fe := range directory.Fields(err) {
		got[fe.Field] = true
	}
	for _, f := range []string{"name", "email", "extension", "ext_password", "mobile", "language"} {
		if !got[f] {
			t.Errorf("no error for field %s in %v", f, err)
		}
	}
}

func TestGroupValidate(t *testing.T) {
	g := directory.Group{Name: "Sales", Extension: "20000", Prefix: "2"}
	if err := g.Validate(); err != nil {
		t.Errorf("valid group: %v", err)
	}
	g = directory.Group{Name: "Sales", Extension: "30000", Prefix: "2"}
	if err := g.Validate(); err == nil {
		t.Error("group number outside its own prefix accepted")
	}
	if err := directory.CheckPrefix(directory.Group{Name: "Sales", Prefix: "2"}, "10001"); err == nil ||
		err.Error() != "extension: must start with 2, the prefix of group Sales" {
		t.Errorf("prefix rule: %v", err)
	}
}

func TestDescendantIDs(t *testing.T) {
	groups := []directory.Group{{ID: 1}, {ID: 2, ParentID: 1}, {ID: 3, ParentID: 2}, {ID: 4, ParentID: 1}, {ID: 5}}
	got := directory.DescendantIDs(groups, []int64{2})
	if len(got) != 2 {
		t.Errorf("subgroups of 2: %v, want [2 3]", got)
	}
	if got := directory.DescendantIDs(groups, []int64{1}); len(got) != 4 {
		t.Errorf("subtree of 1: %v", got)
	}
}

func TestValidateSetting(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{"recording.policy", "all", true}, {"recording.policy", "sometimes", false},
		{"numbers.default_country", "VN", true}, {"numbers.default_country", "XX", false},
		{"sip.domain", "pbx.example.com", true}, {"sip.domain", "a b", false},
		{"recording.retention_days", "30", true}, {"recording.retention_days", "-1", false},
		{"colour", "red", false},
	} {
		if err := directory.ValidateSetting(tc.key, tc.value); (err == nil) != tc.ok {
			t.Errorf("%s=%s: %v, want ok=%v", tc.key, tc.value, err, tc.ok)
		}
	}
}

func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if imp == "database/sql" || strings.Contains(imp, "/directory/") || strings.Contains(imp, "pgx") ||
			strings.Contains(imp, "sqlite") || strings.HasSuffix(imp, "/authz") {
			t.Errorf("directory imports %s: the domain package holds no SQL and no backend", imp)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"22 123 45 67", "+48221234567", "0048", "", "+", "(((", "0912 345 678"} {
		f.Add(s, "PL")
	}
	f.Fuzz(func(t *testing.T, raw, cc string) {
		got, err := directory.NormalizePhone(raw, cc)
		if err == nil && !directory.IsE164(got) {
			t.Errorf("NormalizePhone(%q, %q) = %q: not E.164", raw, cc, got)
		}
	})
}

func FuzzValidateExtension(f *testing.F) {
	for _, s := range []string{"10000", "999999", "9999", "0", "", "1e5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ext string) {
		if directory.ValidateExtension("extension", ext) == nil {
			if len(ext) < 5 || len(ext) > 6 || ext[0] == '0' || strings.Trim(ext, "0123456789") != "" {
				t.Errorf("accepted %q", ext)
			}
		}
	})
}
