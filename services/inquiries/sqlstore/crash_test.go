package sqlstore_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
)

// TestMain runs the crash child when asked to: the parent test re-executes
// this binary with TONG_CRASH_DB set and kills it at a random moment.
func TestMain(m *testing.M) {
	if db := os.Getenv("TONG_CRASH_DB"); db != "" {
		os.Exit(crashChild(db))
	}
	os.Exit(pgtest.Main(m))
}

func open(ctx context.Context, path string) (*inquiries.Service, *store.DB, error) {
	db, err := sqlitedb.Open(ctx, path, store.Options{})
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlstore.Open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	s, err := inquiries.New(inquiries.Config{Store: st, Secret: make([]byte, 32), Limits: inquiries.Limits{PerClientPerHour: 1 << 30, GlobalPerHour: 1 << 30}})
	return s, db, err
}

// crashChild asks questions and replies to them from 4 goroutines, and
// prints "ack <token> <messages>" after each acknowledged write, until it
// is killed.
func crashChild(path string) int {
	ctx := context.Background()
	s, _, err := open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ts, _ := s.AgencyTopics(ctx, "housing")
	var topic *inquiries.Topic
	if len(ts) > 0 {
		topic = ts[0]
	} else if topic, err = s.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing", ReplyHours: 24, Anonymous: true}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				a, err := s.Ask(ctx, topic.ID, fmt.Sprint("client-", g), inquiries.Question{Text: fmt.Sprintf("question %d of %d", i, g)})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %s 1\n", a.Token)
				out.Flush()
				mu.Unlock()
				if _, err := s.Answer(ctx, inquiries.Staff{Agency: "housing", Actor: "atk"}, a.Inquiry.Reference, "answer", false); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				if _, err := s.Reply(ctx, a.Token, "thanks"); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %s 3\n", a.Token)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

// A child writes questions and replies and is killed with SIGKILL at
// random points, three times. After each kill every acknowledged question
// and reply is there, and the database opens and takes writes again.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crash.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "TONG_CRASH_DB="+path)
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acks := map[string]int{}
		done, first := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			acked := false
			defer func() {
				if !acked {
					close(first)
				}
			}()
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				var tok string
				var n int
				if _, err := fmt.Sscanf(sc.Text(), "ack %s %d", &tok, &n); err == nil && n > acks[tok] {
					acks[tok] = n
					if !acked {
						acked = true
						close(first)
					}
				}
			}
		}()
		// The kill comes at a random moment after the first
		// acknowledgement, not at a fixed delay from the start, which on
		// a loaded machine could come before it.
		select {
		case <-first:
		case <-time.After(2 * time.Minute):
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(400))
		time.Sleep(time.Duration(n.Int64()) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		<-done
		if len(acks) == 0 {
			t.Fatalf("round %d: the child acknowledged nothing: %s", round, stderr.String())
		}
		ctx := context.Background()
		s, db, err := open(ctx, path)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		for tok, want := range acks {
			th, err := s.Thread(ctx, tok)
			if err != nil {
				t.Fatalf("round %d: an acknowledged question is lost: %v", round, err)
			}
			if len(th.Messages) < want {
				t.Fatalf("round %d: %s has %d messages, %d were acknowledged", round, th.Inquiry.Reference, len(th.Messages), want)
			}
		}
		t.Logf("round %d: %d acknowledged questions checked", round, len(acks))
		db.Close()
	}
}
