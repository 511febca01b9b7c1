package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	for _, us := range []int64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 123456789} {
		b := bucket(us)
		if top := bucketTop(b); top < us {
			t.Errorf("bucketTop(bucket(%d)) = %d, want >= %d", us, top, us)
		} else if float64(top-us) > float64(us)/float64(1<<subBits)+1 {
			t.Errorf("bucketTop(bucket(%d)) = %d, more than 1/%d above", us, top, 1<<subBits)
		}
		if b > 0 && bucketTop(b-1) >= us {
			t.Errorf("bucket(%d) = %d, but bucket %d already reaches %d", us, b, b-1, bucketTop(b-1))
		}
	}
}

func TestQuantiles(t *testing.T) {
	h := newHist()
	if got := h.summary(); got.P50 != -1 {
		t.Errorf("empty summary P50 = %v, want -1", got.P50)
	}
	var vals []int64
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		us := int64(r.ExpFloat64() * 2000)
		vals = append(vals, us)
		h.add(time.Duration(us) * time.Microsecond)
	}
	slices.Sort(vals)
	for _, q := range []float64{.5, .9, .99, .999} {
		want := float64(vals[int(math.Ceil(q*float64(len(vals))))-1]) / 1000
		got := h.quantile(q)
		if got < want || got > want*1.02+0.001 {
			t.Errorf("quantile(%v) = %v ms, want %v ms (within 2%% above)", q, got, want)
		}
	}
	if got, want := h.quantile(1), float64(vals[len(vals)-1])/1000; got != want {
		t.Errorf("quantile(1) = %v, want the exact max %v", got, want)
	}
	o := newHist()
	o.add(time.Second)
	h.merge(o)
	if h.count() != 100001 || h.quantile(1) != 1000 {
		t.Errorf("after merge: count %d max %v, want 100001 and 1000 ms", h.count(), h.quantile(1))
	}
}
