package loadgen

import (
	"runtime"
	"sync"
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
// no global lock per request. Cells are sparse (packed) HDR histograms, so
// memory follows the number of distinct tags and latency buckets, not the
// number of requests or the length of the run.
type recorder struct {
	shards  []shard
	highest int64
}

type shard struct {
	mu       sync.Mutex
	cells    map[cellKey]*cell // cumulative, per phase × client × server × class
	interval map[string]*cell  // since the last harvest, per server
	phases   []phaseCounts     // cumulative per phase, for Progress
	lastKey  cellKey           // the last cell used: most results repeat it
	lastCell *cell
	_        [64]byte // keep shards on separate cache lines
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
		r.shards[i].cells = map[cellKey]*cell{}
		r.shards[i].interval = map[string]*cell{}
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

func (c *cell) add(res *Result, corrected, raw int64, highest int64) {
	c.requests++
	if res.Success() {
		c.successes++
	}
	if res.Err != "" {
		if c.errors == nil {
			c.errors = map[string]int64{}
		}
		c.errors[res.Err]++
	}
	c.bytes += res.Bytes
	_ = c.corrected.RecordValue(clamp(corrected, histLowest, highest))
	_ = c.raw.RecordValue(clamp(raw, histLowest, highest))
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// record files one result. corrected and raw are latencies in nanoseconds.
func (r *recorder) record(worker, phase int, res *Result, corrected, raw time.Duration) {
	s := &r.shards[uint(worker)%uint(len(r.shards))]
	key := cellKey{phase: phase, client: res.Tags.Client, server: res.Tags.Server, class: res.StatusClass()}
	s.mu.Lock()
	c := s.lastCell
	if c == nil || key != s.lastKey {
		c = s.cells[key]
		if c == nil {
			c = r.newCell()
			s.cells[key] = c
		}
		s.lastKey, s.lastCell = key, c
	}
	c.add(res, int64(corrected), int64(raw), r.highest)
	ic := s.interval[res.Tags.Server]
	if ic == nil {
		ic = r.newCell()
		s.interval[res.Tags.Server] = ic
	}
	ic.add(res, int64(corrected), int64(raw), r.highest)
	pc := &s.phases[phase]
	pc.requests++
	if !res.Success() {
		pc.failures++
	}
	s.mu.Unlock()
}

// harvest takes the interval cells of every shard, merged per server.
func (r *recorder) harvest() map[string]*cell {
	out := map[string]*cell{}
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		iv := s.interval
		s.interval = make(map[string]*cell, len(iv))
		s.mu.Unlock()
		for server, c := range iv {
			dst := out[server]
			if dst == nil {
				out[server] = c
				continue
			}
			dst.merge(c)
		}
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
		for k, c := range s.cells {
			g, ok := group(k)
			if !ok {
				continue
			}
			dst := out[g]
			if dst == nil {
				dst = r.newCell()
				out[g] = dst
			}
			dst.merge(c)
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
