package sqlite

import "time"

// SlowSyncs makes every sync of the write-ahead log take at least d longer,
// as on a slow disk. Call it right after Open, before any write.
func SlowSyncs(s *Store, d time.Duration) { s.beforeSync = func() { time.Sleep(d) } }
