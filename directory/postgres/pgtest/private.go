package pgtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Server is a PostgreSQL server of a test's own, in a temp dir on a free
// port, for tests that stop or freeze the database: the shared server must
// never be stopped. It runs as the postgres user when the test runs as
// root, since PostgreSQL refuses to run as root.
type Server struct {
	URL string // postgres://postgres@127.0.0.1:PORT/postgres

	t      testing.TB
	bin    string
	dir    string
	port   int
	runAs  string // "" or the user to run the server as
	frozen []int
}

// Private starts a fresh PostgreSQL server for t and stops it when t ends.
// Without PostgreSQL's binaries the test is skipped, or fails under CI=true.
func Private(t testing.TB) *Server {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Strings(bins)
	if len(bins) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("pgtest: no /usr/lib/postgresql/*/bin/initdb (CI=true, so this fails instead of skipping)")
		}
		t.Skip("pgtest: no /usr/lib/postgresql/*/bin/initdb")
	}
	s := &Server{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	if os.Geteuid() == 0 {
		s.runAs = "postgres"
	}
	// Not t.TempDir: the postgres user must be able to reach it.
	dir, err := os.MkdirTemp("", "sb-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if s.runAs != "" {
		u, err := user.Lookup(s.runAs)
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.run("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	s.Start()
	t.Cleanup(func() {
		s.Thaw()
		s.pgctl("-m", "immediate", "stop")
	})
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
	return s
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// Start starts the server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50", s.port, s.dir)
	if err := s.pgctl("-w", "-l", filepath.Join(s.dir, "log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		s.t.Fatalf("pgtest: start: %v\n%s", err, log)
	}
}

// Stop stops the server (fast shutdown: connections are closed).
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.pgctl("-w", "-m", "fast", "stop"); err != nil {
		s.t.Fatalf("pgtest: stop: %v", err)
	}
}

// Freeze stops (SIGSTOP) the server and every process of it: connections
// stay open and nothing answers, as on a hung database host.
func (s *Server) Freeze() {
	s.t.Helper()
	pid := s.postmaster()
	procs := append([]int{pid}, children(pid)...)
	for _, p := range procs {
		if err := syscall.Kill(p, syscall.SIGSTOP); err != nil {
			s.t.Fatalf("pgtest: freeze %d: %v", p, err)
		}
	}
	s.frozen = procs
}

// Thaw continues (SIGCONT) what Freeze stopped.
func (s *Server) Thaw() {
	for _, p := range s.frozen {
		_ = syscall.Kill(p, syscall.SIGCONT)
	}
	s.frozen = nil
}

// postmaster returns the server's process ID from postmaster.pid.
func (s *Server) postmaster() int {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.data(), "postmaster.pid"))
	if err != nil {
		s.t.Fatalf("pgtest: %v", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(line)))
	if err != nil {
		s.t.Fatalf("pgtest: postmaster.pid: %v", err)
	}
	return pid
}

// children returns the processes whose parent is pid, from /proc.
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at ")".
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) pgctl(args ...string) error {
	return s.cmd("pg_ctl", append([]string{"-D", s.data()}, args...)...).Run()
}

func (s *Server) run(name string, args ...string) {
	s.t.Helper()
	if out, err := s.cmd(name, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("pgtest: %s: %v\n%s", name, err, out)
	}
}

func (s *Server) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if s.runAs == "" {
		return exec.Command(path, args...)
	}
	return exec.Command("runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
}
