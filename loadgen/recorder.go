package loadgen

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry: nanoseconds, 1µs resolution, 3 significant digits.
const (
	histLowest = int64(time.Microsecond)
	histDigits = 3
)

// recorder keeps the metrics of a run in shards: a worker records into the
// shard of its index under that shard's own mutex, so there is no channel and
// no global lock per request. A result is recorded once, into the live cell
// of its tags (dense histograms for the first maxDenseCells cells); each
// series harvest folds the live cells into cumulative cells of sparse
// (packed) HDR histograms, so memory follows the number of distinct tags and
// latency buckets, not the number of requests or the length of the run.
type recorder struct {
	shards  []shard
	highest int64
	dense   atomic.Int32 // live cells given dense histograms so far
}

type shard struct {
	mu        sync.Mutex
	entries   map[cellKey]*entry // per phase × client × server × class
	phases    []phaseCounts      // cumulative per phase, for Progress
	lastKey   cellKey            // the last entry used: most results repeat it
	lastEntry *entry
	_         [64]byte // keep shards on separate cache lines
}

// entry is one tag combination of a shard: cumulative up to the last
// harvest, and live since.
type entry struct {
	total *cell
	live  liveCell
}

// mergeInto adds all of e's figures so far to dst.
func (e *entry) mergeInto(dst *cell) {
	dst.merge(e.total)
	e.live.mergeInto(dst)
}

type cellKey struct {
	phase          int
	client, server string
	class          string
}

// cell accumulates one set of results.
type cell struct {
	requests, successes int64
	bytes               int64
	errors              map[string]int64
	corrected, raw      *hdr.PackedHistogram
}

type phaseCounts struct{ requests, failures int64 }

func newRecorder(phases int, highest time.Duration) *recorder {
	n := min(max(4*runtime.GOMAXPROCS(0), 4), 64)
	r := &recorder{shards: make([]shard, n), highest: int64(highest)}
	for i := range r.shards {
		r.shards[i].entries = map[cellKey]*entry{}
		r.shards[i].phases = make([]phaseCounts, phases)
	}
	return r
}

func (r *recorder) newCell() *cell {
	return &cell{
		corrected: hdr.NewPacked(histLowest, r.highest, histDigits),
		raw:       hdr.NewPacked(histLowest, r.highest, histDigits),
	}
}

func (r *recorder) newEntry() *entry {
	dense := r.dense.Add(1) <= maxDenseCells
	return &entry{total: r.newCell(), live: liveCell{
		corrected: newHist(r.highest, dense),
		raw:       newHist(r.highest, dense),
	}}
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// record files one result. corrected and raw are latencies in nanoseconds.
func (r *recorder) record(worker, phase int, res *Result, corrected, raw time.Duration) {
	s := &r.shards[uint(worker)%uint(len(r.shards))]
	key := cellKey{phase: phase, client: res.Tags.Client, server: res.Tags.Server, class: res.StatusClass()}
	s.mu.Lock()
	e := s.lastEntry
	if e == nil || key != s.lastKey {
		e = s.entries[key]
		if e == nil {
			e = r.newEntry()
			s.entries[key] = e
		}
		s.lastKey, s.lastEntry = key, e
	}
	e.live.add(res, int64(corrected), int64(raw), r.highest)
	pc := &s.phases[phase]
	pc.requests++
	if !res.Success() {
		pc.failures++
	}
	s.mu.Unlock()
}

// harvest folds every live cell into its cumulative one and returns what
// they held (the results since the last harvest), merged per server.
func (r *recorder) harvest() map[string]*cell {
	out := map[string]*cell{}
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		for k, e := range s.entries {
			if e.live.requests == 0 {
				continue
			}
			c := e.live.take(r.highest)
			e.total.merge(c)
			if dst := out[k.server]; dst != nil {
				dst.merge(c)
			} else {
				out[k.server] = c
			}
		}
		s.mu.Unlock()
	}
	return out
}

// phaseCounts sums the live per-phase counters.
func (r *recorder) phaseCounts(phase int) phaseCounts {
	var pc phaseCounts
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		pc.requests += s.phases[phase].requests
		pc.failures += s.phases[phase].failures
		s.mu.Unlock()
	}
	return pc
}

// collect merges the cumulative cells accepted by keep into one per group,
// grouped by the key function (e.g. by phase, or by phase and server).
func (r *recorder) collect(group func(k cellKey) (string, bool)) map[string]*cell {
	out := map[string]*cell{}
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		for k, e := range s.entries {
			g, ok := group(k)
			if !ok {
				continue
			}
			dst := out[g]
			if dst == nil {
				dst = r.newCell()
				out[g] = dst
			}
			e.mergeInto(dst)
		}
		s.mu.Unlock()
	}
	return out
}

func (c *cell) merge(from *cell) {
	c.requests += from.requests
	c.successes += from.successes
	c.bytes += from.bytes
	for k, n := range from.errors {
		if c.errors == nil {
			c.errors = map[string]int64{}
		}
		c.errors[k] += n
	}
	c.corrected.Merge(from.corrected)
	c.raw.Merge(from.raw)
}

// stats summarises a cell (schedule figures are added by the caller).
func (c *cell) stats(d time.Duration) Stats {
	st := Stats{
		Duration:  d,
		Requests:  c.requests,
		Successes: c.successes,
		Failures:  c.requests - c.successes,
		Bytes:     c.bytes,
		Corrected: summarize(c.corrected),
		Raw:       summarize(c.raw),
	}
	if len(c.errors) > 0 {
		st.Errors = make(map[string]int64, len(c.errors))
		for k, n := range c.errors {
			st.Errors[k] = n
		}
	}
	return st
}

var quantiles = []float64{50, 90, 99, 99.9, 99.99}

func summarize(h *hdr.PackedHistogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	q := h.ValueAtPercentilesSlice(quantiles)
	return Latency{
		Count: h.TotalCount(),
		Min:   time.Duration(h.Min()),
		Mean:  time.Duration(h.Mean()),
		P50:   time.Duration(q[0]),
		P90:   time.Duration(q[1]),
		P99:   time.Duration(q[2]),
		P999:  time.Duration(q[3]),
		P9999: time.Duration(q[4]),
		Max:   time.Duration(h.Max()),
	}
}
