package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// writeCSV writes src to a file in a temporary directory and returns its path.
func writeCSV(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUserImport(t *testing.T) {
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "Olga", "--email", "olga@example.com", "--extension", "10000", "--ext-password", "k7#Qm2vLx9")
	good := writeCSV(t, "staff.csv", "\ufeffName,Email,Extension,Ext_Password,Password,Role,Group\r\n"+
		"\"Nowak, Anna\",anna@example.com,10001,k7#Qm2vLx9,Str0ng!pass,admin;agent,Default group\r\n"+
		"Ben Tran,ben@example.com,10002,p9$Lw3zTq1,,,\r\n"+
		"Chi Le,chi@example.com,10003,p9$Lw3zTq1,,Agent,\r\n")
	code, out, stderr := c.run("", "user", "import", good)
	if code != 0 || out != "" || strings.TrimSpace(stderr) != "imported 3 users" {
		t.Fatalf("import: exit %d, stdout %q, stderr %q; want 0, nothing, \"imported 3 users\"", code, out, stderr)
	}
	list := c.ok("", "user", "list")
	for _, want := range []string{"Nowak, Anna", "anna@example.com", "Admin,Agent", "10002", "ben@example.com", "chi@example.com"} {
		if !strings.Contains(list, want) {
			t.Errorf("user list after the import lacks %q:\n%s", want, list)
		}
	}

	// A bad file: every problem on stderr, by file, line and column, exit 1,
	// and nothing stored, not even its good rows.
	bad := writeCSV(t, "bad.csv", "name,email,extension,ext_password\n"+
		"Dan,dan@example.com,10004,p9$Lw3zTq1\n"+
		"Eve,eve@example.com,10002,p9$Lw3zTq1\n"+
		"Fay,dan@example.com,10006,short\n")
	code, out, stderr = c.run("", "user", "import", bad)
	if code != 1 || out != "" {
		t.Errorf("bad file: exit %d, stdout %q; want 1 and nothing", code, out)
	}
	for _, want := range []string{
		"bad.csv: line 3: extension: already in use by a user or group\n",
		"bad.csv: line 4: email: already on line 2\n",
		"bad.csv: line 4: ext_password: must be at least 8 characters\n",
		"switchboard: user import: " + bad + " has problems; nothing was imported\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr for a bad file lacks %q:\n%s", want, stderr)
		}
	}
	if after := c.ok("", "user", "list"); after != list {
		t.Errorf("a refused import changed the users:\n%s\nwas:\n%s", after, list)
	}

	// Standard input, as "-".
	code, _, stderr = c.run("name,email,extension,ext_password\nGus,gus@example.com,10007,p9$Lw3zTq1\n", "user", "import", "-")
	if code != 0 || !strings.Contains(stderr, "imported 1 users") {
		t.Errorf("import from stdin: exit %d, stderr %q", code, stderr)
	}

	// Each import is in the audit log once, with its count.
	st, err := dirstore.Open(t.Context(), "", c.data, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "user.import"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[1].Detail != "3 users from staff.csv" || log[0].Detail != "1 users from stdin" || log[0].Actor != "cli" {
		t.Errorf("audit log of imports: %+v; want two entries by cli, 1 from stdin (newest first) and 3 from staff.csv", log)
	}
	users, err := st.SIPUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 5 {
		t.Errorf("%d users stored, want 5", len(users))
	}
}

func TestUserImportUsage(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"user", "import"}, 2, "needs exactly one FILE.csv"},
		{"two files", []string{"user", "import", "a.csv", "b.csv"}, 2, "needs exactly one FILE.csv"},
		{"unknown flag", []string{"user", "import", "--colour", "red", "a.csv"}, 2, "colour"},
		{"missing file", []string{"user", "import", filepath.Join(t.TempDir(), "none.csv")}, 1, "none.csv: no such file"},
		{"bad header", []string{"user", "import", writeCSV(t, "h.csv", "name,email\nA,a@example.com\n")}, 1,
			`h.csv: line 1: header: missing column "extension"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := c.run("", tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
