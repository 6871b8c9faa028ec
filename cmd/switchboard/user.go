package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/switchboard-pbx/switchboard/directory"
)

const userUsage = `usage:
  switchboard user add --name N --email E --extension X --ext-password P [--password P] [--role R] [--group G]
  switchboard user import FILE.csv|-     (columns name,email,extension,ext_password[,password,role,group,mobile]; all rows or none)
  switchboard user list [--search S] [--all]
  switchboard user block|unblock|delete EMAIL
  switchboard user set-password EMAIL            (reads the new web password from stdin)
  switchboard user set-ext-password EMAIL [--ext-password P]   (generates and prints one when not given)`

func runUser(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		return usagef("%s", userUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add":
		return userAdd(ctx, args, e)
	case "import":
		return userImport(ctx, args, e)
	case "list":
		return userList(ctx, args, e)
	case "block", "unblock", "delete":
		return userState(ctx, sub, args, e)
	case "set-password":
		return userSetPassword(ctx, args, e)
	case "set-ext-password":
		return userSetExtPassword(ctx, args, e)
	}
	return usagef("unknown user command %q\n%s", sub, userUsage)
}

func userAdd(ctx context.Context, args []string, e env) error {
	var name, email, ext, extPw, pw, role, group string
	extra := func(fs *flagSet) {
		fs.StringVar(&name, "name", "", "full name")
		fs.StringVar(&email, "email", "", "email, the web login")
		fs.StringVar(&ext, "extension", "", "extension number, 5 or 6 digits")
		fs.StringVar(&extPw, "ext-password", "", "extension (SIP) password")
		fs.StringVar(&pw, "password", "", "web password (optional; set later with set-password)")
		fs.StringVar(&role, "role", "", "role name or ID, comma-separated (default: the default role)")
		fs.StringVar(&group, "group", "", "group name or ID, comma-separated (default: the default group)")
	}
	return storeCommand(ctx, "user add", args, e, extra, func(ctx context.Context, st directory.Store, pos []string) error {
		if len(pos) > 0 {
			return usagef("user add: unexpected argument %q", pos[0])
		}
		n := directory.NewUser{Name: name, Email: email, Extension: ext, ExtPassword: directory.Password(extPw),
			Password: directory.Password(pw)}
		var err error
		if n.RoleIDs, err = resolveRoles(ctx, st, role); err != nil {
			return err
		}
		if n.GroupIDs, err = resolveGroups(ctx, st, group); err != nil {
			return err
		}
		u, err := directory.AddUser(ctx, st, n, directory.DefaultPasswordPolicy)
		if err != nil {
			return err
		}
		audit(ctx, st, "user.create", u.ID, u.Email)
		fmt.Fprintf(e.stderr, "user %s created with extension %s (id %d)\n", u.Email, u.Extension, u.ID)
		return nil
	})
}

// resolveRoles turns a comma-separated list of role names, built-in names
// or IDs into IDs.
func resolveRoles(ctx context.Context, st directory.Store, spec string) ([]int64, error) {
	if spec == "" {
		return nil, nil
	}
	roles, err := st.Roles(ctx)
	if err != nil {
		return nil, err
	}
	return resolve(spec, "role", roles, func(r directory.Role, want string) (int64, bool) {
		return r.ID, strings.EqualFold(r.Name, want) || strings.EqualFold(r.Builtin, want) || strconv.FormatInt(r.ID, 10) == want
	})
}

// resolveGroups turns a comma-separated list of group names or IDs into IDs.
func resolveGroups(ctx context.Context, st directory.Store, spec string) ([]int64, error) {
	if spec == "" {
		return nil, nil
	}
	groups, err := st.Groups(ctx)
	if err != nil {
		return nil, err
	}
	return resolve(spec, "group", groups, func(g directory.Group, want string) (int64, bool) {
		return g.ID, strings.EqualFold(g.Name, want) || strconv.FormatInt(g.ID, 10) == want
	})
}

func resolve[T any](spec, field string, all []T, match func(T, string) (int64, bool)) ([]int64, error) {
	var ids []int64
	for _, want := range strings.Split(spec, ",") {
		want = strings.TrimSpace(want)
		found := false
		for _, x := range all {
			if id, ok := match(x, want); ok {
				ids, found = append(ids, id), true
				break
			}
		}
		if !found {
			return nil, &directory.InvalidError{Field: field, Rule: fmt.Sprintf("no %s named %q", field, want)}
		}
	}
	return ids, nil
}

func userList(ctx context.Context, args []string, e env) error {
	var search string
	var all bool
	extra := func(fs *flagSet) {
		fs.StringVar(&search, "search", "", "only users whose name, email or extension contains this")
		fs.BoolVar(&all, "all", false, "include deleted users")
	}
	return storeCommand(ctx, "user list", args, e, extra, func(ctx context.Context, st directory.Store, pos []string) error {
		if len(pos) > 0 {
			return usagef("user list: unexpected argument %q", pos[0])
		}
		roles, err := st.Roles(ctx)
		if err != nil {
			return err
		}
		groups, err := st.Groups(ctx)
		if err != nil {
			return err
		}
		f := directory.UserFilter{Search: search, Vis: directory.Visibility{All: true}}
		if all {
			f.States = []directory.UserState{directory.UserActive, directory.UserBlocked, directory.UserDeleted}
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEXTENSION\tNAME\tEMAIL\tSTATE\tROLES\tGROUPS")
		for page := 1; ; page++ {
			f.Page = directory.Page{Number: page, Size: 500}
			users, err := st.Users(ctx, f)
			if err != nil {
				return err
			}
			for _, u := range users {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Extension, u.Name, u.Email, u.State,
					roleNames(roles, u.RoleIDs), groupNames(groups, u.GroupIDs))
			}
			if len(users) < 500 {
				break
			}
		}
		return tw.Flush()
	})
}

func roleNames(roles []directory.Role, ids []int64) string {
	var names []string
	for _, id := range ids {
		for _, r := range roles {
			if r.ID == id {
				names = append(names, r.Name)
			}
		}
	}
	return strings.Join(names, ",")
}

func groupNames(groups []directory.Group, ids []int64) string {
	var names []string
	for _, id := range ids {
		for _, g := range groups {
			if g.ID == id {
				names = append(names, g.Name)
			}
		}
	}
	return strings.Join(names, ",")
}

// userByEmailArg finds the one user named by the single positional argument.
func userByEmailArg(ctx context.Context, st directory.Store, cmd string, pos []string) (*directory.User, error) {
	if len(pos) != 1 {
		return nil, usagef("user %s: needs exactly one EMAIL\n%s", cmd, userUsage)
	}
	u, err := st.UserByEmail(ctx, directory.NormalizeEmail(pos[0]))
	if errors.Is(err, directory.ErrNotFound) {
		return nil, fmt.Errorf("user %s: no user with email %s", cmd, pos[0])
	}
	return u, err
}

func userState(ctx context.Context, cmd string, args []string, e env) error {
	state := map[string]directory.UserState{"block": directory.UserBlocked, "unblock": directory.UserActive,
		"delete": directory.UserDeleted}[cmd]
	return storeCommand(ctx, "user "+cmd, args, e, nil, func(ctx context.Context, st directory.Store, pos []string) error {
		u, err := userByEmailArg(ctx, st, cmd, pos)
		if err != nil {
			return err
		}
		if err := st.SetUserState(ctx, u.ID, state); err != nil {
			return fmt.Errorf("user %s %s: %w", cmd, u.Email, err)
		}
		audit(ctx, st, "user."+cmd, u.ID, u.Email)
		fmt.Fprintf(e.stderr, "user %s: %s\n", u.Email, state)
		return nil
	})
}

func userSetPassword(ctx context.Context, args []string, e env) error {
	return storeCommand(ctx, "user set-password", args, e, nil, func(ctx context.Context, st directory.Store, pos []string) error {
		u, err := userByEmailArg(ctx, st, "set-password", pos)
		if err != nil {
			return err
		}
		pw, err := readLine(e.stdin)
		if err != nil {
			return usagef("user set-password: give the new password on standard input")
		}
		if err := directory.DefaultPasswordPolicy.Check(pw, u.Email, u.Name); err != nil {
			return err
		}
		hash, err := directory.HashPassword(directory.Password(pw))
		if err != nil {
			return err
		}
		if err := st.SetPasswordHash(ctx, u.ID, hash); err != nil {
			return err
		}
		audit(ctx, st, "user.set_password", u.ID, u.Email)
		fmt.Fprintf(e.stderr, "user %s: web password changed\n", u.Email)
		return nil
	})
}

func userSetExtPassword(ctx context.Context, args []string, e env) error {
	var extPw string
	extra := func(fs *flagSet) {
		fs.StringVar(&extPw, "ext-password", "", "the new extension password (default: generate one and print it)")
	}
	return storeCommand(ctx, "user set-ext-password", args, e, extra, func(ctx context.Context, st directory.Store, pos []string) error {
		u, err := userByEmailArg(ctx, st, "set-ext-password", pos)
		if err != nil {
			return err
		}
		pw := directory.Password(extPw)
		generated := pw == ""
		if generated {
			pw = directory.GeneratePassword(16)
		}
		if err := directory.ValidateExtPassword(string(pw), u.Extension); err != nil {
			return err
		}
		realm, err := st.Setting(ctx, directory.SettingDomain)
		if err != nil {
			return err
		}
		if err := st.SetSIPSecret(ctx, u.ID, directory.NewSIPSecret(u.Extension, realm, pw)); err != nil {
			return err
		}
		audit(ctx, st, "user.set_ext_password", u.ID, u.Email)
		if generated {
			fmt.Fprintln(e.stdout, string(pw)) // shown once; only its digest hashes are stored
		}
		fmt.Fprintf(e.stderr, "user %s: extension %s password changed\n", u.Email, u.Extension)
		return nil
	})
}

func readLine(r io.Reader) (string, error) {
	s := bufio.NewScanner(r)
	if !s.Scan() {
		if err := s.Err(); err != nil {
			return "", err
		}
		return "", io.EOF
	}
	line := strings.TrimRight(s.Text(), "\r\n")
	if line == "" {
		return "", io.EOF
	}
	return line, nil
}

// audit records an operator command; a failure to write it is reported
// but does not undo the command.
func audit(ctx context.Context, st directory.Store, action string, userID int64, detail string) {
	_ = st.Audit(ctx, &directory.AuditEntry{Actor: "cli", Action: action,
		Object: "user:" + strconv.FormatInt(userID, 10), Detail: detail})
}
