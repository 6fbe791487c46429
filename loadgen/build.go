package loadgen

import "time"

// report builds the Report from the recorder and the schedule counters.
func (e *engine) report() *Report {
	type groupKey struct {
		phase    int // -1: all phases
		dim, val string
	}
	groups := map[groupKey]*cell{}
	add := func(k groupKey, c *cell) {
		dst := groups[k]
		if dst == nil {
			dst = e.rec.newCell()
			groups[k] = dst
		}
		dst.merge(c)
	}
	e.rec.totalMu.Lock()
	for i := range e.rec.shards {
		s := &e.rec.shards[i]
		s.mu.Lock()
		for k, en := range s.entries {
			c := e.rec.newCell()
			en.mergeInto(c)
			add(groupKey{phase: -1}, c)
			add(groupKey{phase: k.phase}, c)
			if k.client != "" {
				add(groupKey{k.phase, "client", k.client}, c)
			}
			if k.server != "" {
				add(groupKey{k.phase, "server", k.server}, c)
			}
			add(groupKey{k.phase, "status", k.class}, c)
		}
		s.mu.Unlock()
	}
	e.rec.totalMu.Unlock()

	r := &Report{
		Schema:   ReportSchema,
		Start:    e.start.UTC(),
		Duration: e.stopped.Sub(e.start),
		Phases:   make([]PhaseReport, len(e.plan.Phases)),
		Series:   e.series,
	}
	if r.Series == nil {
		r.Series = []Point{}
	}
	overall := e.cellStats(groups[groupKey{phase: -1}], r.Duration)
	for i, ph := range e.plan.Phases {
		pr := PhaseReport{
			Name:   ph.Name,
			Mode:   "closed",
			Stats:  e.cellStats(groups[groupKey{phase: i}], e.ran(i)),
			Offset: e.offsets[i].Seconds(),
		}
		e.addSchedule(i, &pr.Stats)
		if ph.Open() {
			pr.Mode, pr.MaxInFlight = "open", ph.MaxInFlight
		} else {
			pr.Connections = ph.Connections
		}
		overall.Planned += pr.Stats.Planned
		overall.Sent += pr.Stats.Sent
		overall.Late += pr.Stats.Late
		overall.Unsent += pr.Stats.Unsent
		r.Phases[i] = pr
	}
	for k, c := range groups {
		if k.phase < 0 || k.dim == "" {
			continue
		}
		pr := &r.Phases[k.phase]
		var m *TagMap
		switch k.dim {
		case "client":
			m = &pr.ByClient
		case "server":
			m = &pr.ByServer
		default:
			m = &pr.ByStatus
		}
		if *m == nil {
			*m = TagMap{}
		}
		(*m)[k.val] = e.cellStats(c, e.ran(k.phase))
	}
	overall.AskedRate = rate(overall.Planned, r.Duration, e.anyOpen())
	overall.Rate = rate(overall.Sent, r.Duration, true)
	r.Overall = overall
	return r
}

func (e *engine) anyOpen() bool {
	for _, ph := range e.plan.Phases {
		if ph.Open() {
			return true
		}
	}
	return false
}

func (e *engine) cellStats(c *cell, d time.Duration) Stats {
	if c == nil {
		c = e.rec.newCell()
	}
	st := c.stats(d)
	st.Rate = rate(uint64(st.Requests), d, true)
	return st
}

// addSchedule fills the schedule figures of phase i into st.
func (e *engine) addSchedule(i int, st *Stats) {
	ps := &e.sched[i]
	st.Sent = ps.sent.Load()
	st.Late = ps.late.Load()
	st.Unsent = ps.unsent.Load()
	st.Planned = st.Sent + st.Unsent
	open := e.plan.Phases[i].Open()
	st.AskedRate = rate(st.Planned, st.Duration, open)
	st.Rate = rate(st.Sent, st.Duration, true)
}

// phaseStats is phase i's figures so far (for Progress.PhaseDone).
func (e *engine) phaseStats(i int) Stats {
	c := e.rec.collect(func(k cellKey) (string, bool) { return "", k.phase == i })[""]
	st := e.cellStats(c, e.plan.Phases[i].Duration)
	e.addSchedule(i, &st)
	return st
}

func rate(n uint64, d time.Duration, ok bool) float64 {
	if !ok || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
