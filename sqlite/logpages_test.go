package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// walFrame is the size of a frame of the write-ahead log: a page and its
// 24-byte header.
const walFrame = 4096 + 24

// TestLogPagesPerSend: a 1:1 message committed on its own writes at most
// maxPagesPerSend pages to the log (9.8-10.2 on 2026-12-06; 7.6 since its
// message.created has no row in the event log, migration 010), on a store
// whose tables and indexes are several levels deep. The pages a write
// changes are what it costs the log's checksums and system calls, the
// fsync and the checkpoint (docs/PERFORMANCE.md, "Measured on 2026-12-06
// (fifth session)"); a new index on a table a send writes to, or a second
// update of a row, shows here as a page more.
// The log's frames are attributed to their tables and indexes (dbstat) and
// logged.
func TestLogPagesPerSend(t *testing.T) {
	const maxPagesPerSend = 8.5
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := mustOpen(t, path, nil)
	convs := bulkFixture(t, s, 400)
	bulkHistory(t, s, convs, 8000)
	send := func(i int) {
		c := convs[(i*7)%len(convs)]
		ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: c.Members[i%2]})
		if _, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: c.ID, Body: "a message of a line", ClientID: switchboard.NewSecret()[:22]}); err != nil {
			t.Fatalf("SendMessage(%d) = %v", i, err)
		}
	}
	// Warm up (the conversations cached, the statements prepared), then
	// hold checkpoints off so that the log holds every frame written.
	for i := range 200 {
		send(i)
	}
	release := sqlite.HoldCheckpoints(s)
	defer release()
	// A checkpoint that copied the whole log lets the next write start it
	// over, from its beginning: let that be this one, not a measured one.
	send(200)
	before, framesBefore := s.WriterStats(), walFrames(t, path+"-wal")
	const n = 200
	for i := range n {
		send(201 + i) // one at a time: a commit each
	}
	after := s.WriterStats()
	if commits := after.Commits - before.Commits; commits != n {
		t.Fatalf("%d sends one after another made %d commits, want %d", n, commits, n)
	}
	pages := float64(after.LogBytes-before.LogBytes) / walFrame / n

	// Which table or index each page belongs to.
	frames := walFrames(t, path+"-wal")
	if len(frames) < len(framesBefore) || !slices.Equal(frames[:len(framesBefore)], framesBefore) {
		t.Fatalf("the log started over during the sends (%d frames before, %d after)", len(framesBefore), len(frames))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	owner := map[uint32]string{1: "(database header)"}
	rows, err := db.Query(`SELECT name, pageno FROM dbstat`)
	if err != nil {
		t.Fatalf("dbstat: %v", err)
	}
	for rows.Next() {
		var name string
		var page uint32
		if err := rows.Scan(&name, &page); err != nil {
			t.Fatal(err)
		}
		if page != 1 {
			owner[page] = name
		}
	}
	rows.Close()
	by := map[string]int{}
	for _, page := range frames[len(framesBefore):] {
		name := owner[page]
		if name == "" {
			name = "(free)"
		}
		by[name]++
	}
	names := make([]string, 0, len(by))
	for name := range by {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return by[b] - by[a] })
	var sb strings.Builder
	for _, name := range names {
		fmt.Fprintf(&sb, "\n  %-22s %.2f", name, float64(by[name])/n)
	}
	t.Logf("pages of log per send, %d sends committed one at a time: %.2f (%.1f KB)%s", n, pages, pages*walFrame/1024, sb.String())
	if pages > maxPagesPerSend {
		t.Errorf("a send wrote %.2f pages to the log, want at most %v", pages, maxPagesPerSend)
	}
	if len(frames)-len(framesBefore) != int(after.LogBytes-before.LogBytes)/walFrame {
		t.Errorf("the log gained %d frames, WriterStats counted %d bytes (%d frames)", len(frames)-len(framesBefore), after.LogBytes-before.LogBytes,
			(after.LogBytes-before.LogBytes)/walFrame)
	}
}

// walFrames returns the page number of each valid frame of the
// write-ahead log at path, in order: those after its 32-byte header whose
// salt is the header's.
func walFrames(t *testing.T, path string) []uint32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 {
		return nil
	}
	salt := b[16:24]
	var pages []uint32
	for off := 32; off+walFrame <= len(b); off += walFrame {
		if string(b[off+8:off+16]) != string(salt) {
			break
		}
		pages = append(pages, binary.BigEndian.Uint32(b[off:]))
	}
	return pages
}
