package loadgen

import (
	"maps"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// maxDenseCells bounds the live cells with dense histograms in a run. A
// dense histogram records in a few nanoseconds (an array increment) where a
// packed one takes a binary search and sometimes a shift (~100ns), but it
// holds every bucket: about 200 KB for the default range, so two per cell
// and at most this many cells (≈6 MB); the cells past it record packed.
const maxDenseCells = 16

// liveCell accumulates one shard's results for one tag combination since
// the last harvest. Requests record here only (one histogram pair); each
// harvest takes its figures into the shard's cumulative cell and the series
// point.
type liveCell struct {
	requests, successes int64
	bytes               int64
	errors              map[string]int64
	corrected, raw      hist
}

// hist is a latency histogram, dense or packed.
type hist struct {
	dense  *hdr.Histogram
	packed *hdr.PackedHistogram
}

func newHist(highest int64, dense bool) hist {
	if dense {
		return hist{dense: hdr.New(histLowest, highest, histDigits)}
	}
	return hist{packed: hdr.NewPacked(histLowest, highest, histDigits)}
}

func (h *hist) record(v int64) {
	if h.dense != nil {
		_ = h.dense.RecordValue(v)
		return
	}
	_ = h.packed.RecordValue(v)
}

// mergeInto adds h's counts to dst.
func (h *hist) mergeInto(dst *hdr.PackedHistogram) {
	if h.dense != nil {
		dst.MergeFrom(h.dense)
		return
	}
	dst.Merge(h.packed)
}

// take returns h's counts as a packed histogram and empties h. Merging that
// into the cumulative histograms is a linear merge of two sorted packed
// histograms, where merging a dense one would search every bucket.
func (h *hist) take(highest int64) *hdr.PackedHistogram {
	p := h.packed
	if h.dense != nil {
		p = hdr.NewPacked(histLowest, highest, histDigits)
		p.MergeFrom(h.dense) // buckets in ascending order: appended
		h.dense.Reset()
	} else {
		h.packed = hdr.NewPacked(histLowest, highest, histDigits)
	}
	return p
}

func (l *liveCell) add(res *Result, corrected, raw int64, highest int64) {
	l.requests++
	if res.Success() {
		l.successes++
	}
	if res.Err != "" {
		if l.errors == nil {
			l.errors = map[string]int64{}
		}
		l.errors[res.Err]++
	}
	l.bytes += res.Bytes
	l.corrected.record(clamp(corrected, histLowest, highest))
	l.raw.record(clamp(raw, histLowest, highest))
}

// mergeInto adds l's figures to c.
func (l *liveCell) mergeInto(c *cell) {
	c.requests += l.requests
	c.successes += l.successes
	c.bytes += l.bytes
	for k, n := range l.errors {
		if c.errors == nil {
			c.errors = map[string]int64{}
		}
		c.errors[k] += n
	}
	l.corrected.mergeInto(c.corrected)
	l.raw.mergeInto(c.raw)
}

// take returns l's figures as a cell and empties l.
func (l *liveCell) take(highest int64) *cell {
	c := &cell{
		requests: l.requests, successes: l.successes, bytes: l.bytes,
		corrected: l.corrected.take(highest),
		raw:       l.raw.take(highest),
	}
	if len(l.errors) > 0 {
		c.errors = maps.Clone(l.errors)
		clear(l.errors)
	}
	l.requests, l.successes, l.bytes = 0, 0, 0
	return c
}
