package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/switchboard-pbx/switchboard/directory"
)

func runSettings(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usagef("usage: switchboard settings get [KEY] | set KEY VALUE")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "get":
		return storeCommand(ctx, "settings get", args, e, nil, func(ctx context.Context, st directory.Store, pos []string) error {
			if len(pos) > 1 {
				return usagef("usage: switchboard settings get [KEY]")
			}
			if len(pos) == 1 {
				if !directory.IsSettingKey(pos[0]) {
					return usagef("settings get: unknown setting %q", pos[0])
				}
				v, err := st.Setting(ctx, pos[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, directory.RedactSetting(pos[0], v))
				return nil
			}
			all, err := st.Settings(ctx)
			if err != nil {
				return err
			}
			keys := make([]string, 0, len(all))
			for k := range all {
				if k != directory.SettingSetupToken && k != directory.SettingNonceKey {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(e.stdout, "%s=%s\n", k, directory.RedactSetting(k, all[k]))
			}
			return nil
		})
	case "set":
		return storeCommand(ctx, "settings set", args, e, nil, func(ctx context.Context, st directory.Store, pos []string) error {
			if len(pos) != 2 {
				return usagef("usage: switchboard settings set KEY VALUE")
			}
			if pos[0] == directory.SettingSetupToken || pos[0] == directory.SettingNonceKey {
				return usagef("settings set: %s is managed by switchboard serve", pos[0])
			}
			v := pos[1]
			if pos[0] == directory.SettingTrunks {
				// Passwords are write-only: a trunk set back from the
				// redacted form of get keeps the one stored.
				old, err := st.Setting(ctx, pos[0])
				if err != nil {
					return err
				}
				v = directory.KeepTrunkPasswords(v, old)
			}
			if pos[0] == directory.SettingSMTPPassword && v == directory.PasswordSet {
				fmt.Fprintf(e.stderr, "%s unchanged: %s stands for the password stored\n", pos[0], v)
				return nil // set back from the redacted output of get
			}
			if err := st.SetSetting(ctx, pos[0], v); err != nil {
				return err
			}
			_ = st.Audit(ctx, &directory.AuditEntry{Actor: "cli", Action: "settings.set", Object: "setting:" + pos[0],
				Detail: directory.RedactSetting(pos[0], v)})
			if pos[0] == directory.SettingDomain {
				fmt.Fprintln(e.stderr, "note: extension passwords are stored as digests for the old domain; set them again (user set-ext-password)")
			}
			fmt.Fprintf(e.stderr, "%s set\n", pos[0])
			return nil
		})
	}
	return usagef("unknown settings command %q: use get or set", sub)
}
