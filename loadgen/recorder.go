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

	// totalMu guards every entry's total and spares; it is taken before a
	// shard's mu. harvest holds it throughout, so collect never sees
	// figures a harvest has taken out of a live cell but not yet added to
	// the total.
	totalMu sync.Mutex
	// spares are emptied dense pairs for the next swaps: as many as one
	// shard had busy dense cells at once, maxDenseCells at most.
	spares [][2]*hdr.Histogram
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
// harvest (total, guarded by recorder.totalMu), and live since (guarded by
// the shard's mu).
type entry struct {
	total *cell
	live  cell
	dense bool // live records into dense histograms; set once
}

// mergeInto adds all of e's figures so far to dst.
func (e *entry) mergeInto(dst *cell) {
	dst.merge(e.total)
	dst.merge(&e.live)
}

type cellKey struct {
	phase          int
	client, server string
	class          string
}

// cell accumulates one set of results. Its histograms are packed, but for
// a live cell's (see livecell.go), which may be dense.
type cell struct {
	requests, successes int64
	bytes               int64
	errors              map[string]int64
	corrected, raw      hist
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
	return &cell{corrected: newHist(r.highest, false), raw: newHist(r.highest, false)}
}

func (r *recorder) newEntry() *entry {
	dense := r.dense.Add(1) <= maxDenseCells
	return &entry{total: r.newCell(), dense: dense, live: cell{
		corrected: newHist(r.highest, dense),
		raw:       newHist(r.highest, dense),
	}}
}

// emptyLive returns an empty live cell of the kind asked; a dense one
// reuses a spare pair when there is one. The caller holds totalMu.
func (r *recorder) emptyLive(dense bool) cell {
	if n := len(r.spares); dense && n > 0 {
		sp := r.spares[n-1]
		r.spares = r.spares[:n-1]
		return cell{corrected: hist{dense: sp[0]}, raw: hist{dense: sp[1]}}
	}
	return cell{corrected: newHist(r.highest, dense), raw: newHist(r.highest, dense)}
}

// settle makes c packed; its emptied dense pair, if any, becomes a spare.
// The caller holds totalMu.
func (r *recorder) settle(c *cell) {
	corrected, raw := c.corrected.settle(r.highest), c.raw.settle(r.highest)
	if corrected != nil {
		r.spares = append(r.spares, [2]*hdr.Histogram{corrected, raw})
	}
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
// they held (the results since the last harvest), merged per server. Under
// a shard's lock it only lists the busy live cells and swaps them for empty
// ones made beforehand: turning dense histograms into packed ones and
// merging happen outside it, so recording never waits for a merge.
func (r *recorder) harvest() map[string]*cell {
	r.totalMu.Lock()
	defer r.totalMu.Unlock()
	out := map[string]*cell{}
	type swap struct {
		server string
		e      *entry
		c      cell // the empty cell going in, then the one taken out
	}
	var busy []swap
	for i := range r.shards {
		s := &r.shards[i]
		busy = busy[:0]
		s.mu.Lock()
		for k, e := range s.entries {
			if e.live.requests > 0 {
				busy = append(busy, swap{server: k.server, e: e})
			}
		}
		s.mu.Unlock()
		if len(busy) == 0 {
			continue
		}
		for j := range busy {
			busy[j].c = r.emptyLive(busy[j].e.dense)
		}
		s.mu.Lock()
		for j := range busy {
			busy[j].c, busy[j].e.live = busy[j].e.live, busy[j].c
		}
		s.mu.Unlock()
		for j := range busy {
			c := busy[j].c // busy is reused: out keeps a copy
			r.settle(&c)
			busy[j].e.total.merge(&c)
			if dst := out[busy[j].server]; dst != nil {
				dst.merge(&c)
			} else {
				out[busy[j].server] = &c
			}
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
	r.totalMu.Lock()
	defer r.totalMu.Unlock()
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
	c.corrected.add(&from.corrected)
	c.raw.add(&from.raw)
}

// stats summarises a cell (schedule figures are added by the caller).
func (c *cell) stats(d time.Duration) Stats {
	st := Stats{
		Duration:  d,
		Requests:  c.requests,
		Successes: c.successes,
		Failures:  c.requests - c.successes,
		Bytes:     c.bytes,
		Corrected: summarize(c.corrected.packed),
		Raw:       summarize(c.raw.packed),
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
