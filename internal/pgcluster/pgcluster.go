// Package pgcluster starts a private PostgreSQL cluster in a temporary
// directory for tests that stop and start the database under the hub
// (fault drills). It uses the server binaries of the machine
// (/usr/lib/postgresql/*/bin or $PATH); run as root, it runs them as the
// postgres user.
package pgcluster

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

// Cluster is a running (or stopped) private PostgreSQL cluster.
type Cluster struct {
	t      testing.TB
	bin    string
	dir    string // data directory
	log    string
	port   int
	asUser string // "" to run the binaries as ourselves
}

// binDir finds the directory holding initdb and pg_ctl.
func binDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
	}
	return ""
}

// Start initializes and starts a cluster, stopped at the test's end. Without
// PostgreSQL server binaries the test is skipped, unless
// INCIDENTHUB_TEST_POSTGRES_REQUIRED=1 makes it fail.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := binDir()
	if bin == "" {
		if os.Getenv("INCIDENTHUB_TEST_POSTGRES_REQUIRED") == "1" {
			t.Fatal("PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or $PATH, and INCIDENTHUB_TEST_POSTGRES_REQUIRED=1")
		}
		t.Skip("PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or $PATH: this drill needs a private cluster")
	}
	c := &Cluster{t: t, bin: bin}
	root, err := os.MkdirTemp("", "pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	c.dir, c.log = filepath.Join(root, "data"), filepath.Join(root, "server.log")
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user to run the server: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.asUser = "postgres"
	}
	c.port = freePort(t)
	c.run("initdb", "-D", c.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 100\n", c.port, root)
	f, err := os.OpenFile(filepath.Join(c.dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	c.StartServer()
	t.Cleanup(func() { c.pgctl("stop", "-m", "immediate") })
	return c
}

// URL is the cluster's postgres database, user postgres.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Stop stops the server (fast shutdown: sessions are disconnected).
func (c *Cluster) Stop() {
	c.t.Helper()
	if out, err := c.pgctl("stop", "-m", "fast", "-w"); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// StartServer starts the server again (and waits until it accepts
// connections).
func (c *Cluster) StartServer() {
	c.t.Helper()
	if out, err := c.pgctl("start", "-w", "-t", "30", "-l", c.log); err != nil {
		logText, _ := os.ReadFile(c.log)
		c.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, logText)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", c.URL())
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	for {
		if err = db.PingContext(ctx); err == nil {
			return
		}
		if ctx.Err() != nil {
			c.t.Fatalf("cluster on port %d does not answer: %v", c.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) pgctl(args ...string) (string, error) {
	args = append([]string{"-D", c.dir}, args...)
	cmd := c.command("pg_ctl", args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
