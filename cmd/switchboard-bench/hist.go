package main

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// hist is a latency histogram with log-linear buckets (like HDR histograms):
// values up to 2^subBits microseconds are exact, larger ones fall into
// buckets 1/2^subBits of their power of two wide, so every percentile is
// within about 1.6% of the true value. It is safe for concurrent use.
type hist struct {
	mu     sync.Mutex
	counts []uint64
	n      uint64
	max    int64
	sum    float64
}

const subBits = 6 // 64 sub-buckets per power of two

func newHist() *hist { return &hist{counts: make([]uint64, (64-subBits+1)<<subBits)} }

// bucket returns the index of a value in microseconds.
func bucket(us int64) int {
	if us < 1<<subBits {
		return int(max(us, 0))
	}
	exp := bits.Len64(uint64(us)) - subBits - 1 // ≥ 0
	sub := int(us>>uint(exp)) - 1<<subBits      // 0 .. 2^subBits-1
	return (exp+1)<<subBits + sub
}

// bucketTop is the largest value of a bucket, so percentiles never
// understate.
func bucketTop(b int) int64 {
	if b < 1<<subBits {
		return int64(b)
	}
	exp := b>>subBits - 1
	sub := int64(b & (1<<subBits - 1))
	return (1<<subBits+sub+1)<<uint(exp) - 1
}

// add records one latency.
func (h *hist) add(d time.Duration) {
	us := d.Microseconds()
	h.mu.Lock()
	h.counts[bucket(us)]++
	h.n++
	h.sum += float64(us)
	if us > h.max {
		h.max = us
	}
	h.mu.Unlock()
}

// merge adds the counts of o to h.
func (h *hist) merge(o *hist) {
	o.mu.Lock()
	defer o.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// count returns the number of recorded values.
func (h *hist) count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// quantile returns the value at q (0..1) in milliseconds; the maximum is
// exact.
func (h *hist) quantile(q float64) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return math.NaN()
	}
	if q >= 1 {
		return float64(h.max) / 1000
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return float64(min(bucketTop(i), h.max)) / 1000
		}
	}
	return float64(h.max) / 1000
}

// latencies is the summary of a histogram reported per step, in ms.
type latencies struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

func (h *hist) summary() latencies {
	l := latencies{P50: h.quantile(.5), P90: h.quantile(.9), P99: h.quantile(.99), P999: h.quantile(.999), Max: h.quantile(1)}
	h.mu.Lock()
	if h.n > 0 {
		l.Mean = h.sum / float64(h.n) / 1000
	}
	h.mu.Unlock()
	for _, p := range []*float64{&l.P50, &l.P90, &l.P99, &l.P999, &l.Max, &l.Mean} {
		if math.IsNaN(*p) {
			*p = -1
		} else {
			*p = math.Round(*p*1000) / 1000
		}
	}
	return l
}
