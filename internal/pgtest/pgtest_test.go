package pgtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tongid/tong/internal/store"
)

func TestMain(m *testing.M) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		// The child: start a cluster, say where, and wait to be killed.
		c, err := Start()
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("dir", c.dir)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(Main(m))
}

// Each test gets a fresh, empty database on the binary's one cluster.
func TestFreshDatabasePerTest(t *testing.T) {
	t.Parallel()
	a, b := Open(t, store.Options{}), Open(t, store.Options{})
	if a.Path() == b.Path() {
		t.Fatalf("two tests share database %s", a.Path())
	}
	if _, err := a.Writer().ExecContext(t.Context(), `CREATE TABLE only_a (x BIGINT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Writer().ExecContext(t.Context(), `SELECT * FROM only_a`); err == nil {
		t.Errorf("a table made in one test's database is visible in another's")
	}
	if a.Engine() != store.PostgreSQL {
		t.Errorf("Engine() = %s", a.Engine())
	}
}

// A cluster whose test binary was killed (go test -timeout, kill -9) is
// stopped and removed by the next cluster's start.
func TestStaleClusterReaped(t *testing.T) {
	t.Parallel()
	Get(t) // skips (fails under CI=true) without PostgreSQL
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PGTEST_CHILD=1")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "dir ") {
		cmd.Process.Kill()
		t.Fatalf("child: %q", sc.Text())
	}
	dir := strings.TrimPrefix(sc.Text(), "dir ")
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("the killed child's cluster is not running (%v); the test needs it to be", err)
	}
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the dead binary's cluster %s is still there (%v)", dir, err)
	}
}
