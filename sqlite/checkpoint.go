package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints copy the pages of the write-ahead log back into the database
// file. SQLite runs them by default inside the commit that crosses 1000
// pages, on the writer, so every such commit (and every write of its batch)
// waits for a thousand page writes and an fsync of the database file. Here
// the writer never checkpoints (wal_autocheckpoint=0): a checkpointer
// goroutine on its own connection does, in PASSIVE mode, which runs
// alongside the writer and the readers without blocking them. A page written
// by many commits in between is copied once. Durability is unchanged: a
// commit is durable once it is in the WAL (see Sync).

const (
	// checkpointEvery is how often the checkpointer copies what the WAL
	// holds back into the database file.
	checkpointEvery = time.Second
	// restartPages is the WAL size from which it also waits for the writer
	// and the readers so that the log starts over from its beginning, which
	// bounds the file when passive checkpoints cannot catch up.
	restartPages = 64000
)

func (s *Store) checkpointer(db *sql.DB) {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		if err := s.checkpoint(db); err != nil {
			s.logger.Warn("checkpoint", "err", err)
		}
	}
}

// checkpoint runs one passive checkpoint, and a restarting one if the WAL
// has grown too much.
func (s *Store) checkpoint(db *sql.DB) error {
	ctx := context.Background()
	var busy, log, done int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
		return fmt.Errorf("passive checkpoint: %w", err)
	}
	if log >= restartPages && done >= log {
		if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &log, &done); err != nil {
			return fmt.Errorf("restart checkpoint: %w", err)
		}
	}
	return nil
}
