package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

const bansUsage = `usage:
  switchboard bans list          list the SIP bans and extension locks in force
  switchboard bans lift IP       lift every ban and lock of a source address`

// runBans works on the bans in the store, so on every node sharing it: a
// running node drops a lifted ban when it next reads the change log.
func runBans(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		return usagef("%s", bansUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return bansList(ctx, args, e)
	case "lift":
		return bansLift(ctx, args, e)
	}
	return usagef("unknown bans command %q\n%s", sub, bansUsage)
}

func bansList(ctx context.Context, args []string, e env) error {
	return storeCommand(ctx, "bans list", args, e, nil, func(ctx context.Context, st directory.Store, pos []string) error {
		if len(pos) > 0 {
			return usagef("bans list: unexpected argument %q", pos[0])
		}
		bans, err := st.Bans(ctx, time.Now())
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "IP\tKIND\tEXTENSION\tREASON\tEXPIRES")
		for _, b := range bans {
			ext := b.Extension
			if ext == "" {
				ext = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b.Source, b.Kind(), ext, b.Reason,
				b.Expires.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	})
}

func bansLift(ctx context.Context, args []string, e env) error {
	return storeCommand(ctx, "bans lift", args, e, nil, func(ctx context.Context, st directory.Store, pos []string) error {
		if len(pos) != 1 {
			return usagef("bans lift: want one IP address\n%s", bansUsage)
		}
		ip, err := directory.CanonicalIP(pos[0])
		if err != nil {
			return usagef("bans lift: %q is not an IP address", pos[0])
		}
		n, err := st.DeleteBans(ctx, ip)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("bans lift: no ban of %s: %w", ip, directory.ErrNotFound)
		}
		_ = st.Audit(ctx, &directory.AuditEntry{Actor: "cli", Action: "ban.lift", Object: "ban:" + ip,
			Detail: fmt.Sprintf("%d lifted", n)})
		fmt.Fprintf(e.stderr, "lifted %d ban(s) of %s\n", n, ip)
		return nil
	})
}
