// Command switchboard runs the Switchboard PBX (`serve`, the default) and the
// operator subcommands that manage its directory: migrate, user, settings,
// version. See README.md and the operator interface in DESIGN.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones work on machines without /usr/share/zoneinfo
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// Exit codes of the operator interface.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is the outside world of one invocation, so tests can run commands
// in-process with their own streams and environment.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// usageError is a mistake in how the command was called: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

const usageText = `usage: switchboard [command] [flags]

commands:
  serve                  run the PBX: SIP, media relay and web UI (the default)
  migrate                apply database migrations and exit
  user add|import|list|block|unblock|delete|set-password|set-ext-password
  settings get [KEY] | set KEY VALUE
  token create --email E [--name N]   print a new API token for the user, once
  bans list | lift IP    list the SIP bans in force; lift those of a source address
  audit verify           check the audit log's hash chain; exit 1 naming the first bad entry
  version

Every command takes --data DIR and --db URL; every flag has an environment
twin (--sip-addr ↔ SWITCHBOARD_SIP_ADDR). "switchboard COMMAND -h" lists flags.
`

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, args, e)
	case "migrate":
		err = runMigrate(ctx, args, e)
	case "user", "users":
		err = runUser(ctx, args, e)
	case "settings", "setting":
		err = runSettings(ctx, args, e)
	case "token", "tokens":
		err = runToken(ctx, args, e)
	case "bans", "ban":
		err = runBans(ctx, args, e)
	case "audit":
		err = runAudit(ctx, args, e)
	case "version":
		fmt.Fprintln(e.stdout, "switchboard", Version)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usageText)
	default:
		err = usagef("unknown command %q (try: switchboard help)", cmd)
	}
	return exitCode(err, e.stderr)
}

// exitCode prints err as one line and maps it to the operator exit codes.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ce *configError
	switch {
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue), errors.As(err, &ce):
		fmt.Fprintln(stderr, "switchboard:", oneLine(err))
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitOK
	}
	fmt.Fprintln(stderr, "switchboard:", oneLine(err))
	return exitFailed
}

// configError means the configuration or the database it names is unusable:
// exit 2, as bad flags are.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func oneLine(err error) string {
	b := []byte(err.Error())
	for i, c := range b {
		if c == '\n' {
			b[i] = ';'
		}
	}
	return string(b)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	l, _ := parseLevel(level)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
