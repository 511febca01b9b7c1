package storetest

import (
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard"
)

func TestRecorder(t *testing.T) {
	var r Recorder
	if got := r.Events(); len(got) != 0 {
		t.Errorf("Events() of a new Recorder = %v, want none", got)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				r.Publish(&switchboard.Event{Cursor: int64(i*10 + j)}, &switchboard.Event{Cursor: -1})
			}
		}()
	}
	wg.Wait()
	if got := r.Len(); got != 160 {
		t.Fatalf("Len() = %d, want 160", got)
	}
	// The events of one Publish call stay together and in order.
	events := r.Events()
	for i := 0; i < len(events); i += 2 {
		if events[i].Cursor < 0 || events[i+1].Cursor != -1 {
			t.Fatalf("events %d and %d have cursors %d, %d; want a batch of (n, -1)", i, i+1, events[i].Cursor, events[i+1].Cursor)
		}
	}
	if got := r.Since(150); len(got) != 10 {
		t.Errorf("Since(150) = %d events, want 10", len(got))
	} else if got[0] != events[150] {
		t.Errorf("Since(150) starts at %p, want %p", got[0], events[150])
	}
	if got := r.Since(160); len(got) != 0 {
		t.Errorf("Since(160) = %d events, want none", len(got))
	}
}
