package storetest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// importCSV runs directory.ImportUsers on src under the default policy.
func (e *env) importCSV(src string) ([]*directory.User, error) {
	return directory.ImportUsers(e.ctx, e.s, strings.NewReader(src), directory.DefaultPasswordPolicy)
}

// importProblems checks that err lists exactly want, in order.
func (e *env) importProblems(err error, what string, want ...string) {
	e.t.Helper()
	var ie *directory.ImportError
	if !errors.As(err, &ie) {
		e.t.Errorf("%s: error %v, want an *ImportError", what, err)
		return
	}
	var got []string
	for _, l := range ie.Lines {
		got = append(got, l.Error())
	}
	if !slices.Equal(got, want) {
		e.t.Errorf("%s: problems\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

var userImportTests = []test{
	{"import: a file becomes users, roles and groups by name or ID, secrets hashed", func(e *env) {
		sales := e.group("Sales", 0)
		support := e.group("Support", 0)
		admin, agent := e.role(directory.BuiltinAdmin), e.role(directory.BuiltinAgent)
		mark := e.mark()
		us, err := e.importCSV("name,email,extension,ext_password,password,role,group\r\n" +
			"Anna Nowak,Anna@Example.com,10001,k7#Qm2vLx9,Str0ng!pass,Admin;agent,sales|" + strconv.FormatInt(support.ID, 10) + "\r\n" +
			"Ben Tran,ben@example.com,10002,p9$Lw3zTq1,,,\r\n")
		e.ok(err, "import")
		if len(us) != 2 {
			e.t.Fatalf("%d users imported, want 2", len(us))
		}
		anna, ben := e.get(us[0].ID), e.get(us[1].ID)
		if anna.Email != "anna@example.com" || anna.Name != "Anna Nowak" || anna.Extension != "10001" {
			e.t.Errorf("first user read back: %+v", anna)
		}
		e.ids(anna.RoleIDs, sorted([]int64{admin.ID, agent.ID}), "roles by name and built-in name")
		e.ids(anna.GroupIDs, sorted([]int64{sales.ID, support.ID}), "groups by name and by ID")
		e.ids(ben.RoleIDs, []int64{agent.ID}, "no role: the default role")
		e.ids(ben.GroupIDs, []int64{e.defaultGroup().ID}, "no group: the default group")
		if !directory.CheckPassword(anna.PasswordHash, "Str0ng!pass") {
			e.t.Error("the imported web password does not check against its hash")
		}
		if ben.PasswordHash != "" {
			e.t.Error("a user without a web password in the file has a hash")
		}
		realm, err := e.s.Setting(e.ctx, directory.SettingDomain)
		e.ok(err, "domain")
		if anna.SIP != directory.NewSIPSecret("10001", realm, "k7#Qm2vLx9") {
			e.t.Errorf("extension secret %+v is not the HA1 of the file's password in realm %q", anna.SIP, realm)
		}
		e.logged(mark, "an import", userChange(anna.ID), userChange(ben.ID))
	}},
	{"import: clashes with the store are named by line and field, nothing stored", func(e *env) {
		e.named("Anna", "anna@example.com", "10001")
		e.ok(e.s.CreateGroup(e.ctx, &directory.Group{Name: "Sales", Extension: "20000", Prefix: "2"}), "group Sales")
		src := "Email,Name,Extension,Ext_Password,Role,Group\n" +
			"ANNA@example.com,Anna Two,10002,k7#Qm2vLx9,,\n" + // line 2: email of a stored user
			"ben@example.com,Ben,10001,k7#Qm2vLx9,,\n" + // line 3: extension of a stored user
			"chi@example.com,Chi,20000,k7#Qm2vLx9,,\n" + // line 4: a group's number (prefix fine)
			"dan@example.com,Dan,10004,k7#Qm2vLx9,boss,\n" + // line 5: unknown role
			"eve@example.com,Eve,10005,k7#Qm2vLx9,,Nowhere;Sales\n" + // line 6: unknown group, and outside Sales' prefix
			"fay@example.com,Fay,20006,k7#Qm2vLx9,agent,sales\n" // line 7: fine
		us, err := e.importCSV(src)
		if us != nil {
			e.t.Errorf("users returned with an error: %v", us)
		}
		e.importProblems(err, "an import clashing with the store",
			"line 2: email: already in use",
			"line 3: extension: already in use by a user or group",
			"line 4: extension: already in use by a user or group",
			`line 5: role: no role named "boss"`,
			`line 6: group: no group named "Nowhere"`,
			"line 6: extension: must start with 2, the prefix of group Sales")
		if n := e.countAll(); n != 1 {
			e.t.Errorf("%d users after a refused import, want 1", n)
		}
	}},
	{"import: a number taken between the checks and the write is named by its line", func(e *env) {
		st := racer{Store: e.s, before: func() { e.named("Zed", "zed@example.com", "10003") }}
		mark := e.mark()
		us, err := directory.ImportUsers(e.ctx, st, strings.NewReader("name,email,extension,ext_password\n"+
			"Anna,anna@example.com,10001,k7#Qm2vLx9\nBen,ben@example.com,10002,k7#Qm2vLx9\n"+
			"Chi,chi@example.com,10003,k7#Qm2vLx9\nDan,dan@example.com,10004,k7#Qm2vLx9\n"), directory.DefaultPasswordPolicy)
		if us != nil {
			e.t.Errorf("users returned with an error: %v", us)
		}
		e.importProblems(err, "an import losing a race for 10003", "line 4: extension: already in use by a user or group")
		if n := e.countAll(); n != 1 {
			e.t.Errorf("%d users after the refused import, want only the one that won the race", n)
		}
		zed, err := e.s.UserByExtension(e.ctx, "10003")
		e.ok(err, "the winner of the race")
		e.logged(mark, "the race", userChange(zed.ID))
	}},
	{"import: a file with a bad header stores nothing", func(e *env) {
		_, err := e.importCSV("name,email,extension\nAnna,anna@example.com,10001\n")
		e.importProblems(err, "a header without ext_password", `line 1: header: missing column "ext_password"`)
		if n := e.countAll(); n != 0 {
			e.t.Errorf("%d users after a refused import, want 0", n)
		}
	}},
}

// racer is the store under test with another writer that stores a user
// right before an import writes its batch.
type racer struct {
	directory.Store
	before func()
}

func (r racer) CreateUsers(ctx context.Context, us []*directory.User) error {
	r.before()
	return r.Store.CreateUsers(ctx, us)
}

// mobileTests: mobile numbers are read as people type them, with the
// default country, as contacts' numbers are, and stored in E.164.
var mobileTests = []test{
	{"mobile: typed forms are stored in E.164 with the default country", func(e *env) {
		for i, tc := range []struct{ country, typed, want string }{
			{"PL", "600 100 200", "+48600100200"},
			{"PL", "+48 600-100-201", "+48600100201"},
			{"PL", "0048 600 100 202", "+48600100202"},
			{"VN", "0912 345 678", "+84912345678"},
			{"VN", "+84 912 345 679", "+84912345679"},
		} {
			e.ok(e.s.SetSetting(e.ctx, directory.SettingDefaultCountry, tc.country), "set country")
			ext := strconv.Itoa(10001 + i)
			u, err := directory.AddUser(e.ctx, e.s, directory.NewUser{Name: "M " + ext, Email: "m" + ext + "@example.com",
				Extension: ext, ExtPassword: "k7#Qm2vLx9", Mobile: tc.typed}, directory.DefaultPasswordPolicy)
			e.ok(err, "add user with mobile %s", tc.typed)
			if got := e.get(u.ID).Mobile; got != tc.want {
				e.t.Errorf("%s in %s stored as %q, want %q", tc.typed, tc.country, got, tc.want)
			}
			emp, err := e.s.Employees(e.ctx, tc.want)
			e.ok(err, "employees")
			if len(emp) != 1 || emp[0].ID != u.ID {
				e.t.Errorf("Employees(%s) = %d users, want the one added", tc.want, len(emp))
			}
		}
	}},
	{"mobile: a number that is not one is refused naming the field, nothing stored", func(e *env) {
		_, err := directory.AddUser(e.ctx, e.s, directory.NewUser{Name: "M", Email: "m@example.com",
			Extension: "10001", ExtPassword: "k7#Qm2vLx9", Mobile: "call me maybe"}, directory.DefaultPasswordPolicy)
		var ie *directory.InvalidError
		if !errors.As(err, &ie) || ie.Field != "mobile" {
			e.t.Fatalf("error %v, want an invalid mobile", err)
		}
		if n, _ := e.s.CountUsers(e.ctx, directory.UserFilter{}); n != 0 {
			e.t.Errorf("%d users stored after a refused one", n)
		}
	}},
	{"mobile: an import column, read with the default country", func(e *env) {
		e.ok(e.s.SetSetting(e.ctx, directory.SettingDefaultCountry, "VN"), "set country")
		us, err := e.importCSV("name,email,extension,ext_password,mobile\n" +
			"Trần Thị Ánh,anh@example.com,10001,k7#Qm2vLx9,0912 345 678\n" +
			"Ben,ben@example.com,10002,p9$Lw3zTq1,\n")
		e.ok(err, "import")
		if got := e.get(us[0].ID).Mobile; got != "+84912345678" {
			e.t.Errorf("imported mobile %q, want +84912345678", got)
		}
		if got := e.get(us[1].ID).Mobile; got != "" {
			e.t.Errorf("empty mobile cell stored as %q", got)
		}
		_, err = e.importCSV("name,email,extension,ext_password,mobile\nC,c@example.com,10003,k7#Qm2vLx9,12\n")
		e.importProblems(err, "bad mobile", "line 2: mobile: is not a phone number; type it like +48 600 100 200, or 600 100 200 in the default country")
	}},
	{"mobile: a patch is read with the default country", func(e *env) {
		u := e.user("10001")
		p := directory.UserPatch{Mobile: ptr("600 100 200")}
		p.NormalizeMobile("PL")
		e.ok(p.Validate(), "validate")
		_, err := e.s.UpdateUser(e.ctx, u.ID, p)
		e.ok(err, "update")
		if got := e.get(u.ID).Mobile; got != "+48600100200" {
			e.t.Errorf("patched mobile %q, want +48600100200", got)
		}
	}},
}
