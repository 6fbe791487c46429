package loadgen

import (
	"fmt"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// collect runs once per run: every series interval it harvests the shards'
// interval cells into a Point, feeds Progress and the HDR log, and it tells
// Progress when phases start and end. It returns after a final harvest once
// stop is closed: a Point of its own, or, when the last one is less than a
// tenth of an interval old, folded into that one (a sliver of an interval
// would make a rate from a handful of requests). Either way every result is
// in the series.
func (e *engine) collect(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	hlog := e.startHDRLog()
	last := e.start
	cur := -1
	timer := time.NewTimer(0)
	defer timer.Stop()
	nextTick := e.start.Add(e.opts.interval)
	for {
		now := time.Now()
		cur = e.advancePhase(cur, now)
		if !now.Before(nextTick) {
			e.tick(last, now, cur, hlog)
			last = now
			for !nextTick.After(now) {
				nextTick = nextTick.Add(e.opts.interval)
			}
		}
		next := nextTick
		if cur+1 < len(e.plan.Phases) {
			if ps := e.start.Add(e.offsets[cur+1]); ps.Before(next) {
				next = ps
			}
		}
		timer.Reset(max(time.Until(next), 0))
		select {
		case <-timer.C:
		case <-stop:
			now := time.Now()
			if now.Sub(last) > e.opts.interval/10 || len(e.series) == 0 {
				e.tick(last, now, cur, hlog)
			} else {
				e.fold(last, now, cur, hlog)
			}
			e.phaseDone(cur)
			return
		}
	}
}

// advancePhase calls PhaseDone and PhaseStarted for every boundary passed.
func (e *engine) advancePhase(cur int, now time.Time) int {
	for cur+1 < len(e.plan.Phases) && !now.Before(e.start.Add(e.offsets[cur+1])) {
		e.phaseDone(cur)
		cur++
		if p := e.opts.progress; p != nil {
			p.PhaseStarted(e.plan.Phases[cur].Name, e.plan.Phases[cur].Duration)
		}
	}
	return cur
}

func (e *engine) phaseDone(i int) {
	if i < 0 || e.opts.progress == nil {
		return
	}
	e.opts.progress.PhaseDone(e.plan.Phases[i].Name, e.phaseStats(i))
}

// tick turns the interval (from, to] into a Point.
func (e *engine) tick(from, to time.Time, cur int, hlog *hdr.HistogramLogWriter) {
	cells := e.rec.harvest()
	pt, all := e.point(from, to, cur, cells)
	e.series = append(e.series, pt)
	e.lastCells, e.lastFrom = cells, from
	if hlog != nil {
		e.logInterval(hlog, all, from, to)
	}
	if p := e.opts.progress; p != nil && cur >= 0 {
		pc := e.rec.phaseCounts(cur)
		ps := &e.sched[cur]
		p.Update(Snapshot{
			Phase:    e.plan.Phases[cur].Name,
			Elapsed:  to.Sub(e.start.Add(e.offsets[cur])),
			Duration: e.plan.Phases[cur].Duration,
			Requests: pc.requests,
			Failures: pc.failures,
			RPS:      pt.RPS,
			InFlight: max(int64(ps.sent.Load())-pc.requests, 0),
			Late:     ps.late.Load(),
			Unsent:   ps.unsent.Load(),
		})
	}
}

// fold adds the results of (from, to] to the last Point, which then spans
// from its own start to to.
func (e *engine) fold(from, to time.Time, cur int, hlog *hdr.HistogramLogWriter) {
	cells := e.rec.harvest()
	if len(cells) == 0 {
		return
	}
	if hlog != nil {
		all := e.rec.newCell()
		for _, c := range cells {
			all.merge(c)
		}
		e.logInterval(hlog, all, from, to)
	}
	for name, c := range cells {
		if d := e.lastCells[name]; d != nil {
			d.merge(c)
		} else {
			e.lastCells[name] = c
		}
	}
	pt, _ := e.point(e.lastFrom, to, cur, e.lastCells)
	e.series[len(e.series)-1] = pt
}

// point summarises per-server cells of (from, to]; all is their merge.
func (e *engine) point(from, to time.Time, cur int, cells map[string]*cell) (pt Point, all *cell) {
	secs := to.Sub(from).Seconds()
	all = e.rec.newCell()
	servers := make([]string, 0, len(cells))
	for name, c := range cells {
		all.merge(c)
		servers = append(servers, name)
	}
	sort.Strings(servers)
	pt = Point{
		Offset:   to.Sub(e.start).Seconds(),
		Requests: all.requests,
		RPS:      float64(all.requests) / secs,
		Failures: all.requests - all.successes,
		P50:      time.Duration(all.corrected.packed.ValueAtPercentile(50)),
		P99:      time.Duration(all.corrected.packed.ValueAtPercentile(99)),
	}
	if cur >= 0 {
		pt.Phase = e.plan.Phases[cur].Name
	}
	if len(servers) > 1 || (len(servers) == 1 && servers[0] != "") {
		pt.Servers = make(map[string]ServerPoint, len(servers))
		for _, name := range servers {
			c := cells[name]
			pt.Servers[name] = ServerPoint{
				Requests: c.requests,
				RPS:      float64(c.requests) / secs,
				Failures: c.requests - c.successes,
				P50:      time.Duration(c.corrected.packed.ValueAtPercentile(50)),
				P99:      time.Duration(c.corrected.packed.ValueAtPercentile(99)),
			}
		}
	}
	return pt, all
}

func (e *engine) startHDRLog() *hdr.HistogramLogWriter {
	if e.opts.hdrLog == nil {
		return nil
	}
	w := hdr.NewHistogramLogWriter(e.opts.hdrLog)
	startMs := e.start.UnixMilli()
	w.SetBaseTime(startMs)
	_ = w.OutputComment("proxylab loadgen interval log: Tag=corrected (from intended send time), Tag=raw (from actual send); values in ns")
	_ = w.OutputLogFormatVersion()
	_ = w.OutputStartTime(startMs)
	_ = w.OutputBaseTime(startMs)
	_ = w.OutputLegend()
	return w
}

func (e *engine) logInterval(w *hdr.HistogramLogWriter, c *cell, from, to time.Time) {
	for _, h := range []struct {
		tag string
		h   *hdr.PackedHistogram
	}{{"corrected", c.corrected.packed}, {"raw", c.raw.packed}} {
		h.h.SetTag(h.tag)
		h.h.SetStartTimeMs(from.UnixMilli())
		h.h.SetEndTimeMs(to.UnixMilli())
		if err := w.OutputIntervalPackedHistogram(h.h); err != nil && e.opts.hdrLog != nil {
			_, _ = fmt.Fprintf(e.opts.hdrLog, "#error: %v\n", err)
		}
	}
}
