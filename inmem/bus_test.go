package inmem_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/inmem"
)

// TestPublish checks delivery to recipients only, broadcast to the domain,
// and that a subscriber that does not keep up is dropped, not waited for.
func TestPublish(t *testing.T) {
	bus := inmem.NewBus(2)
	a, b, other := bus.Subscribe("acme.example", "101"), bus.Subscribe("acme.example", "102"), bus.Subscribe("other.example", "101")
	defer a.Close()
	defer b.Close()
	defer other.Close()
	bus.Publish(&switchboard.Event{Domain: "acme.example", Recipients: []string{"101"}, Cursor: 1})
	bus.Publish(&switchboard.Event{Domain: "acme.example", Broadcast: true})
	if got := len(a.C()); got != 2 {
		t.Errorf("101 got %d events, want 2", got)
	}
	if got := len(b.C()); got != 1 {
		t.Errorf("102 got %d events, want 1 (the broadcast)", got)
	}
	if got := len(other.C()); got != 0 {
		t.Errorf("101 of another domain got %d events, want 0", got)
	}
	bus.Publish(&switchboard.Event{Domain: "acme.example", Recipients: []string{"101"}, Cursor: 2})
	for range a.C() {
	}
	if !a.Overflowed() {
		t.Errorf("Overflowed() = false after a third event into a buffer of 2, want true")
	}
}

// TestSubscribeFunc checks that a function subscription is called with
// the events addressed to its extension and the domain's broadcasts, in
// order, and never after its cancel returns; several of one extension each
// get every event.
func TestSubscribeFunc(t *testing.T) {
	bus := inmem.NewBus(0)
	var got1, got2, otherGot []int64
	cancel1 := bus.SubscribeFunc("acme.example", "101", func(e *switchboard.Event) { got1 = append(got1, e.Cursor) })
	cancel2 := bus.SubscribeFunc("acme.example", "101", func(e *switchboard.Event) { got2 = append(got2, e.Cursor) })
	cancelOther := bus.SubscribeFunc("other.example", "101", func(e *switchboard.Event) { otherGot = append(otherGot, e.Cursor) })
	defer cancelOther()
	if n := bus.Subscribers(); n != 3 {
		t.Errorf("Subscribers() = %d, want 3", n)
	}
	bus.Publish(&switchboard.Event{Domain: "acme.example", Recipients: []string{"101", "102"}, Cursor: 1},
		&switchboard.Event{Domain: "acme.example", Recipients: []string{"102"}, Cursor: 2},
		&switchboard.Event{Domain: "acme.example", Broadcast: true, Cursor: 3})
	cancel1()
	cancel1() // harmless
	bus.Publish(&switchboard.Event{Domain: "acme.example", Recipients: []string{"101"}, Cursor: 4})
	cancel2()
	bus.Publish(&switchboard.Event{Domain: "acme.example", Recipients: []string{"101"}, Cursor: 5})
	for _, tc := range []struct {
		name      string
		got, want []int64
	}{
		{"first of 101", got1, []int64{1, 3}},
		{"second of 101", got2, []int64{1, 3, 4}},
		{"101 of another domain", otherGot, nil},
	} {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s got cursors %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if n := bus.Subscribers(); n != 1 {
		t.Errorf("Subscribers() after two cancels = %d, want 1", n)
	}
}

// BenchmarkPublish measures fan-out of one message to a group of 10 whose
// members each have a connected client (draining its feed), in a bus of
// 1000 subscribers.
func BenchmarkPublish(b *testing.B) {
	bus := inmem.NewBus(0)
	var members []string
	for d := range 10 {
		for i := range 100 {
			s := bus.Subscribe(fmt.Sprintf("d%d.example", d), fmt.Sprint(1000+i))
			defer s.Close()
			if d == 0 && i < 10 {
				members = append(members, fmt.Sprint(1000+i))
				go func() {
					for range s.C() {
					}
				}()
			}
		}
	}
	e := &switchboard.Event{Domain: "d0.example", Recipients: members, Cursor: 1}
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(e)
	}
}
