package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// TestWALWritesGathered checks that a commit's frames reach the
// write-ahead log in a few system calls rather than two per page
// (sqlite/walwrite.go), and that while a store commits as fast as it can,
// another process reading the database, as the CLI does while the server
// runs, only ever sees whole commits: every conversation's messages
// numbered without a gap, and a database whose integrity check passes.
func TestWALWritesGathered(t *testing.T) {
	if err := sqlite.NoWALWrites(); err != nil {
		t.Fatalf("log writes are not gathered: %v", err)
	}
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := mustOpen(t, path, nil)
	convs := bulkFixture(t, s, 8)
	writes0, calls0 := sqlite.WALWrites()

	reader := exec.Command(os.Args[0], "-test.run=^TestWALReaderProcess$", "-test.v")
	reader.Env = append(os.Environ(), "WAL_READER_DB="+path, "WAL_READER_CONVS="+strconv.Itoa(len(convs)))
	for i, c := range convs {
		reader.Env = append(reader.Env, fmt.Sprintf("WAL_READER_CONV%d=%s", i, c.ID))
	}
	out := &syncBuffer{}
	reader.Stdout, reader.Stderr = out, out
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	const perConv = 150
	var wg sync.WaitGroup
	for _, c := range convs {
		for _, from := range c.Members {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: from})
				for n := range perConv / 2 {
					if _, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: c.ID, Body: fmt.Sprintf("%s %d", from, n)}); err != nil {
						t.Errorf("SendMessage = %v", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	// The reader stops at the first read that sees every message.
	done := make(chan error, 1)
	go func() { done <- reader.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the reading process failed: %v\n%s", err, out)
		}
	case <-time.After(60 * time.Second):
		reader.Process.Kill()
		t.Fatalf("the reading process did not see every message:\n%s", out)
	}
	t.Logf("reader: %s", out)
	writes, calls := sqlite.WALWrites()
	writes, calls = writes-writes0, calls-calls0
	if writes < int64(len(convs)*perConv) || calls*4 > writes {
		t.Errorf("%d log writes in %d system calls, want at least %d writes in a quarter as many calls", writes, calls, len(convs)*perConv)
	}
}

// TestWALReaderProcess is TestWALWritesGathered's other process: it reads
// the database until it has seen every message, checking each read.
func TestWALReaderProcess(t *testing.T) {
	path := os.Getenv("WAL_READER_DB")
	if path == "" {
		t.Skip("run by TestWALWritesGathered")
	}
	n, _ := strconv.Atoi(os.Getenv("WAL_READER_CONVS"))
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reads := 0
	for deadline := time.Now().Add(50 * time.Second); time.Now().Before(deadline); {
		complete := true
		for i := range n {
			conv := os.Getenv(fmt.Sprintf("WAL_READER_CONV%d", i))
			var count, last, lastSeq int64
			if err := db.QueryRow(`SELECT count(*), coalesce(max(m.seq), 0), c.last_seq FROM conversations c
				LEFT JOIN messages m ON m.conversation_id = c.id WHERE c.id = ?`, conv).Scan(&count, &last, &lastSeq); err != nil {
				t.Fatalf("read %d: %v", reads, err)
			}
			reads++
			if count != last || last != lastSeq {
				t.Fatalf("read %d: conversation %s has %d messages up to seq %d, last_seq %d", reads, conv, count, last, lastSeq)
			}
			if last < 150 {
				complete = false
			}
		}
		if complete {
			var check string
			if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check = %q, %v", check, err)
			}
			t.Logf("%d consistent reads", reads)
			return
		}
	}
	t.Fatalf("not every message seen after %d reads", reads)
}

// syncBuffer is a bytes.Buffer safe for a child's stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// TestWALWriteFailureFailsTheCommit checks that when the gathered frames of
// a commit cannot be written (here the file size limit, RLIMIT_FSIZE, stops
// the write-ahead log from growing: EFBIG), the send fails instead of being
// acknowledged, and the database, opened again, holds exactly the
// acknowledged messages, numbered without a gap.
func TestWALWriteFailureFailsTheCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conv := bulkFixture(t, s, 2)[0]
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestWALWriteFailureProcess$", "-test.v")
	child.Env = append(os.Environ(), "WAL_FSIZE_DB="+path, "WAL_FSIZE_CONV="+conv.ID, "WAL_FSIZE_FROM="+conv.Members[0])
	out, err := child.CombinedOutput()
	if err != nil {
		t.Fatalf("the writing process failed: %v\n%s", err, out)
	}
	var acked int
	for _, line := range strings.Split(string(out), "\n") {
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "acknowledged %d", &acked); err == nil {
			break
		}
	}
	if acked == 0 {
		t.Fatalf("the writing process acknowledged nothing:\n%s", out)
	}
	t.Logf("%d messages acknowledged before the log could not grow:\n%s", acked, out)
	s = mustOpen(t, path, nil)
	ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: conv.Members[0]})
	c, err := s.FindConversation(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.LastSeq != int64(acked) {
		t.Errorf("after reopening: last seq %d, want the %d acknowledged messages", c.LastSeq, acked)
	}
	page, err := s.ListMessages(ctx, conv.ID, switchboard.MessageQuery{Limit: 1})
	if err != nil || len(page) != 1 || page[0].Seq != int64(acked) || !strings.HasPrefix(page[0].Body, fmt.Sprint("message ", acked, " ")) {
		t.Errorf("after reopening: newest message %+v, %v; want message %d", page, err, acked)
	}
}

// TestWALWriteFailureProcess is TestWALWriteFailureFailsTheCommit's other
// process: it sends under a file size limit until a send fails.
func TestWALWriteFailureProcess(t *testing.T) {
	path := os.Getenv("WAL_FSIZE_DB")
	if path == "" {
		t.Skip("run by TestWALWriteFailureFailsTheCommit")
	}
	// A write past the limit fails with EFBIG instead of killing the
	// process with SIGXFSZ.
	signal.Ignore(syscall.SIGXFSZ)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	limit := uint64(fi.Size()) + 2<<20
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: ^uint64(0)}); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: os.Getenv("WAL_FSIZE_FROM")})
	body := strings.Repeat("x", 4000) // a page or so each
	for n := 1; n < 10000; n++ {
		m := &switchboard.Message{ConversationID: os.Getenv("WAL_FSIZE_CONV"), Body: fmt.Sprint("message ", n, " ", body)}
		if _, err := s.SendMessage(ctx, m); err != nil {
			fmt.Printf("acknowledged %d\nthen: %v\n", n-1, err)
			return
		}
	}
	t.Fatalf("no send failed under a file size limit of %d bytes", limit)
}
