package main

import (
	"context"
	"fmt"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/web"
)

const tokenUsage = `usage:
  switchboard token create --email E [--name N]   (prints the token on stdout, once)`

func runToken(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("%s", tokenUsage)
	}
	var email, name string
	extra := func(fs *flagSet) {
		fs.StringVar(&email, "email", "", "email of the user the token acts as")
		fs.StringVar(&name, "name", "cli", "a name to tell the token apart on the account page")
	}
	return storeCommand(ctx, "token create", args[1:], e, extra, func(ctx context.Context, st directory.Store, pos []string) error {
		if len(pos) > 0 {
			return usagef("token create: unexpected argument %q\n%s", pos[0], tokenUsage)
		}
		if email == "" {
			return usagef("token create: --email is required\n%s", tokenUsage)
		}
		u, err := st.UserByEmail(ctx, directory.NormalizeEmail(email))
		if err != nil {
			return fmt.Errorf("token create: user %s: %w", email, err)
		}
		if err := authz.CanLogin(u); err != nil {
			return fmt.Errorf("token create: %s: %w", email, err)
		}
		tok, t, err := web.NewAPIToken(ctx, st, u.ID, name)
		if err != nil {
			return fmt.Errorf("token create: %w", err)
		}
		_ = st.Audit(ctx, &directory.AuditEntry{Actor: "cli", Action: "token.create", Object: "token:" + fmt.Sprint(t.ID),
			Detail: u.Email + " " + t.Name})
		fmt.Fprintln(e.stdout, tok)
		fmt.Fprintf(e.stderr, "token %s… created for %s; it is not shown again\n", t.Prefix, u.Email)
		return nil
	})
}
