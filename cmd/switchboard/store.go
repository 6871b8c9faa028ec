package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

var errHelp = flag.ErrHelp

// parseArgs parses flags that may stand before or after the positional
// arguments ("user block E --data X" and "user block --data X E").
func parseArgs(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &usageError{msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// openStore opens the configured store and applies migrations. An
// unreachable or unusable database is a configuration error (exit 2).
func openStore(ctx context.Context, c *Config, log *slog.Logger) (directory.Store, error) {
	st, err := dirstore.Open(ctx, c.DB, c.Data, log)
	if err != nil {
		return nil, &configError{fmt.Errorf("--db: %w", err)}
	}
	return st, nil
}

// storeCommand parses the common flags of an operator subcommand, opens
// the store and hands it to fn.
func storeCommand(ctx context.Context, name string, args []string, e env,
	extra func(fs *flagSet), fn func(ctx context.Context, st directory.Store, pos []string) error) error {
	var c Config
	fs := newFlagSet("switchboard "+name, e.getenv)
	fs.SetOutput(e.stderr)
	fs.storeFlags(&c)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := c.Validate(false); err != nil {
		return &configError{err}
	}
	log := newLogger(e.stderr, c.LogLevel)
	st, err := openStore(ctx, &c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, st, pos)
}

func runMigrate(ctx context.Context, args []string, e env) error {
	return storeCommand(ctx, "migrate", args, e, nil, func(ctx context.Context, st directory.Store, _ []string) error {
		// Opening the store migrated it; the backends say what that applied.
		var applied []string
		if a, ok := st.(interface{ Applied() []string }); ok {
			applied = a.Applied()
		}
		if len(applied) == 0 {
			fmt.Fprintln(e.stderr, "database is up to date")
			return nil
		}
		for _, m := range applied {
			fmt.Fprintln(e.stdout, m)
		}
		fmt.Fprintf(e.stderr, "%d migrations applied\n", len(applied))
		return nil
	})
}
