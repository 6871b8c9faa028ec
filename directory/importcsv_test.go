package directory_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboard-pbx/switchboard/directory"
)

// parse runs ParseUsersCSV under the default policy.
func parse(src string) ([]directory.ImportRow, error) {
	return directory.ParseUsersCSV(strings.NewReader(src), directory.DefaultPasswordPolicy)
}

// problems returns the lines of an *ImportError, failing the test when err
// is something else.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var ie *directory.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T), want an *ImportError", err, err)
	}
	var out []string
	for _, l := range ie.Lines {
		out = append(out, l.Error())
	}
	return out
}

func TestParseUsersCSVGoodFile(t *testing.T) {
	// A spreadsheet's export: byte order mark, CRLF, header in its own case
	// and order, quoted fields with commas, quotes and a line break, lists of
	// roles and groups, trailing rows of empty cells and blank lines.
	src := "\ufeffEmail,Name, EXTENSION ,Ext_Password,Password,Role,Group\r\n" +
		"Anna@Example.com,\"Nowak, Anna\",10001,k7#Qm2vLx9,Str0ng!pass,admin;agent,Sales|2\r\n" +
		"ben@example.com,\"Ben \"\"the phone\"\" Tran\",10002,p9$Lw3zTq1,,,\r\n" +
		"chi@example.com,\"Chi\nLe\",100003,\"x,y;z|w!1\",,5,\r\n" +
		",,,,,,\r\n" +
		"\r\n\r\n"
	rows, err := parse(src)
	if err == nil {
		t.Fatal("a name with a line break was accepted")
	}
	if got := problems(t, err); !slices.Equal(got, []string{"line 4: name: must be a single line"}) {
		t.Fatalf("problems %q, want only the line break of line 4", got)
	}

	src = strings.Replace(src, "\"Chi\nLe\"", "Chi Le", 1)
	rows, err = parse(src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(rows), rows)
	}
	a, b, c := rows[0], rows[1], rows[2]
	if a.Line != 2 || b.Line != 3 || c.Line != 4 {
		t.Errorf("lines %d %d %d, want 2 3 4", a.Line, b.Line, c.Line)
	}
	if a.User.Name != "Nowak, Anna" || a.User.Email != "anna@example.com" || a.User.Extension != "10001" ||
		a.User.ExtPassword != "k7#Qm2vLx9" || a.User.Password != "Str0ng!pass" {
		t.Errorf("row 1: %+v", a.User)
	}
	if !slices.Equal(a.Roles, []string{"admin", "agent"}) || !slices.Equal(a.Groups, []string{"Sales", "2"}) {
		t.Errorf("row 1 roles %q groups %q, want [admin agent] [Sales 2]", a.Roles, a.Groups)
	}
	if b.User.Name != `Ben "the phone" Tran` || b.User.Password != "" || b.Roles != nil || b.Groups != nil {
		t.Errorf("row 2: %+v roles %q groups %q", b.User, b.Roles, b.Groups)
	}
	if c.User.Extension != "100003" || c.User.ExtPassword != "x,y;z|w!1" || !slices.Equal(c.Roles, []string{"5"}) {
		t.Errorf("row 3: %+v roles %q", c.User, c.Roles)
	}
}

func TestParseUsersCSVOnlyRequiredColumns(t *testing.T) {
	rows, err := parse("name,email,extension,ext_password\nAnna,anna@example.com,10001,k7#Qm2vLx9")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(rows) != 1 || rows[0].User.Password != "" || rows[0].Roles != nil {
		t.Errorf("rows %+v", rows)
	}
}

func TestParseUsersCSVErrors(t *testing.T) {
	const header = "name,email,extension,ext_password,password,role,group\n"
	const good = "Anna,anna@example.com,10001,k7#Qm2vLx9,,,\n"
	for _, tc := range []struct {
		name string
		src  string
		want []string // every problem, in order
	}{
		{"empty file", "", []string{`line 1: header: the file is empty; the first line must name the columns ` +
			`name,email,extension,ext_password and optionally password,role,group,mobile`}},
		{"only a BOM", "\ufeff", []string{`line 1: header: the file is empty; the first line must name the columns ` +
			`name,email,extension,ext_password and optionally password,role,group,mobile`}},
		{"header only", header, []string{"line 2: file: has no users after the header"}},
		{"header and blank lines", header + "\n,,,,,,\n\n", []string{"line 4: file: has no users after the header"}},
		{"missing column", "name,email,extension\nAnna,anna@example.com,10001\n",
			[]string{`line 1: header: missing column "ext_password"`}},
		{"unknown column and missing ones", "name,e-mail,extension,ext_password\n",
			[]string{`line 1: header: unknown column "e-mail"; the columns are name, email, extension, ext_password, password, role, group, mobile`,
				`line 1: header: missing column "email"`}},
		{"column twice", "name,email,Email,extension,ext_password\n",
			[]string{`line 1: header: column "email" appears twice`}},
		{"column without a name", "name,email,,extension,ext_password\n",
			[]string{`line 1: header: column 3 has no name`}},
		{"a row with too few fields", header + good + "Ben,ben@example.com,10002\n",
			[]string{"line 3: csv: has 3 fields, the header has 7"}},
		{"a row with too many fields", header + "Ben,ben@example.com,10002,p9$Lw3zTq1,,,,x\n",
			[]string{"line 2: csv: has 8 fields, the header has 7"}},
		{"bare quote", header + good + "Ben,ben@exa\"mple.com,10002,p9$Lw3zTq1,,,\n",
			[]string{`line 3: csv: bare " in non-quoted-field (column 12)`}},
		{"unterminated quote", header + good + "Ben,\"ben@example.com,10002,p9$Lw3zTq1,,,\n",
			[]string{`line 3: csv: extraneous or missing " in quoted-field (column 42)`}},
		{"every field of a row wrong", header + " ,not-an-email,9999,short,password,,\n",
			[]string{"line 2: name: is required", "line 2: email: must be an address like name@example.com",
				"line 2: password: must contain an upper-case letter",
				"line 2: extension: must be 5 or 6 digits between 10000 and 999999",
				"line 2: ext_password: must be at least 8 characters"}},
		{"required fields empty", header + ",,,,,admin,\n",
			[]string{"line 2: name: is required", "line 2: email: is required", "line 2: extension: is required",
				"line 2: ext_password: is required"}},
		{"extension password holds the extension", header + "Ben,ben@example.com,10002,ab10002cd,,,\n",
			[]string{"line 2: ext_password: must not contain the extension number"}},
		{"extension password not printable ASCII", header + "Ben,ben@example.com,10002,pässwört1,,,\n",
			[]string{"line 2: ext_password: must be printable ASCII (desk phones cannot type other characters)"}},
		{"not UTF-8 (a spreadsheet's own code page)", header + "Zo\xeb,zoe@example.com,10002,p9$Lw3zTq1,,,\n",
			[]string{"line 2: name: is not UTF-8 text; save the file as CSV UTF-8"}},
		{"common web password", header + "Ben,ben@example.com,10002,p9$Lw3zTq1,Password1!,,\n",
			[]string{"line 2: password: is too common or too easy to guess"}},
		{"email twice in the file, in another case", header + good + "Ben,ben@example.com,10002,p9$Lw3zTq1,,,\n" +
			"Anna Two,ANNA@example.com,10003,p9$Lw3zTq1,,,\n",
			[]string{"line 4: email: already on line 2"}},
		{"extension twice in the file", header + good + "Ben,ben@example.com,10001,p9$Lw3zTq1,,,\n",
			[]string{"line 3: extension: already on line 2"}},
		{"problems on several lines, in line order", header + "Zed,zed@example.com,1000,k7#Qm2vLx9,,,\n" +
			good + "Ben,ben.example.com,10002,p9$Lw3zTq1,,,\n",
			[]string{"line 2: extension: must be 5 or 6 digits between 10000 and 999999",
				"line 4: email: must be an address like name@example.com"}},
		{"a quoted line break counts", header + "\"Anna\",anna@example.com,10001,\"k7#Qm\n2vLx9\",,,\nBen,ben.example.com,10002,p9$Lw3zTq1,,,\n",
			[]string{"line 2: ext_password: must be printable ASCII (desk phones cannot type other characters)",
				"line 4: email: must be an address like name@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := parse(tc.src)
			if rows != nil {
				t.Errorf("rows %+v returned with an error", rows)
			}
			if !errors.Is(err, directory.ErrInvalid) && !errors.Is(err, directory.ErrConflict) {
				t.Errorf("error %v is neither ErrInvalid nor ErrConflict", err)
			}
			if got := problems(t, err); !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestParseUsersCSVDuplicateIsConflict(t *testing.T) {
	_, err := parse("name,email,extension,ext_password\nA,a@example.com,10001,k7#Qm2vLx9\nB,a@example.com,10002,k7#Qm2vLx9\n")
	var ce *directory.ConflictError
	if !errors.As(err, &ce) || ce.Field != "email" {
		t.Fatalf("error %v: want a *ConflictError on email", err)
	}
}

func TestParseUsersCSVStopsAtTheCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,email,extension,ext_password\n")
	for i := range 3 * directory.MaxImportErrors {
		fmt.Fprintf(&b, "User %d,u%d@example.com,%d,short\n", i, i, 20000+i)
	}
	_, err := parse(b.String())
	var ie *directory.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v, want an *ImportError", err)
	}
	if len(ie.Lines) != directory.MaxImportErrors || !ie.More {
		t.Errorf("%d problems listed, more %v; want %d and more", len(ie.Lines), ie.More, directory.MaxImportErrors)
	}
	if ie.Lines[0].Line != 2 || ie.Lines[len(ie.Lines)-1].Line != directory.MaxImportErrors+1 {
		t.Errorf("first and last listed lines %d and %d, want 2 and %d", ie.Lines[0].Line,
			ie.Lines[len(ie.Lines)-1].Line, directory.MaxImportErrors+1)
	}
	if !strings.HasSuffix(err.Error(), "more problems not listed (only the first 100 are)") {
		t.Errorf("message does not say more were found: ...%s", err.Error()[len(err.Error())-80:])
	}
}

func TestParseUsersCSVManyRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,email,extension,ext_password\r\n")
	const n = 10_000
	for i := range n {
		fmt.Fprintf(&b, "User %d,u%d@example.com,%d,Ext-pass-%d\r\n", i, i, 100000+i, i)
	}
	rows, err := parse(b.String())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(rows) != n || rows[n-1].Line != n+1 || rows[n-1].User.Extension != "109999" {
		t.Errorf("%d rows, last %+v", len(rows), rows[len(rows)-1])
	}
}

func FuzzParseUsersCSV(f *testing.F) {
	for _, s := range []string{
		"name,email,extension,ext_password,password,role,group\nAnna,anna@example.com,10001,k7#Qm2vLx9,Str0ng!pass,admin;agent,Sales|2\n",
		"\ufeffEMAIL,NAME,EXTENSION,EXT_PASSWORD\r\nb@example.com,\"B, \"\"b\"\"\",10002,p9$Lw3zTq1\r\n\r\n",
		"name,email,extension,ext_password\nA,a@example.com,10001,k7#Qm2vLx9\nB,a@example.com,10001,k7#Qm2vLx9\n",
		"name,email\n\"unterminated",
		"name,email,extension,ext_password\n,,,\n\"a\nb\",x@y.z,99999,\"12\"\"3456789\"\n",
		"",
		"\ufeff",
		"a\"b,c\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		rows, err := parse(src)
		if err != nil {
			if rows != nil {
				t.Fatalf("rows returned with error %v", err)
			}
			var ie *directory.ImportError
			if !errors.As(err, &ie) || len(ie.Lines) == 0 || len(ie.Lines) > directory.MaxImportErrors {
				t.Fatalf("error %v: want an *ImportError with 1 to %d lines", err, directory.MaxImportErrors)
			}
			for _, l := range ie.Lines {
				if l.Line < 1 || l.Err == nil {
					t.Fatalf("problem %+v: want a line from 1 and an error", l)
				}
				if !errors.Is(l, directory.ErrInvalid) && !errors.Is(l, directory.ErrConflict) {
					t.Fatalf("problem %v is neither ErrInvalid nor ErrConflict", l)
				}
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no rows and no error")
		}
		seenEmail, seenExt := map[string]bool{}, map[string]bool{}
		prev := 1
		for _, r := range rows {
			if r.Line <= prev {
				t.Fatalf("row on line %d after line %d", r.Line, prev)
			}
			prev = r.Line
			n := r.User
			if !utf8.ValidString(n.Name) || !utf8.ValidString(string(n.Password)) {
				t.Fatalf("row on line %d was accepted with text that is not UTF-8", r.Line)
			}
			if err := n.Validate(directory.DefaultPasswordPolicy); err != nil {
				t.Fatalf("row on line %d was accepted but does not validate: %v", r.Line, err)
			}
			if seenEmail[n.Email] || seenExt[n.Extension] {
				t.Fatalf("row on line %d repeats an email or extension", r.Line)
			}
			seenEmail[n.Email], seenExt[n.Extension] = true, true
		}
	})
}
