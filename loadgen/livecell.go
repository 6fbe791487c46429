package loadgen

import (
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
// harvest folds it into the shard's cumulative cell and the series point,
// then resets it.
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

func (h *hist) reset() {
	if h.dense != nil {
		h.dense.Reset()
		return
	}
	h.packed.Reset()
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

func (l *liveCell) reset() {
	l.requests, l.successes, l.bytes = 0, 0, 0
	clear(l.errors)
	l.corrected.reset()
	l.raw.reset()
}
