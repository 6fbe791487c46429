package bench

// result gathers every target's spreads and the ratios between them.
func (r *runner) result() *Result {
	res := &Result{
		Schema: Schema,
		Env:    r.env(),
		Setup: Setup{
			Duration: r.cfg.Duration, Warmup: r.cfg.Warmup, Connections: r.cfg.Connections, Reps: r.cfg.Reps,
			Rate: r.rate, Body: r.cfg.Body, Backend: r.cfg.Backend, BackendAddr: r.backend.addr,
			IdleConns: r.cfg.IdleConns, Streams: r.cfg.TunnelStreams,
		},
		Skipped: r.skipped,
	}
	for _, t := range r.targets {
		tr := t.res
		tr.ReqPerSec, tr.P50, tr.P99 = NewSpread(t.rps), NewSpread(t.p50), NewSpread(t.p99)
		tr.CPUPerReq, tr.LoadCPU, tr.LoadWakeups = NewSpread(t.cpu), NewSpread(t.loadCPU), NewSpread(t.wakeups)
		tr.OpenP50, tr.OpenP99, tr.OpenCPUPerReq = NewSpread(t.open50), NewSpread(t.open99), NewSpread(t.openCPU)
		if len(t.tunnelMBps) > 0 {
			tr.Tunnel = &Tunnel{MBps: NewSpread(t.tunnelMBps), CPUPerGB: NewSpread(t.tunnelCPUPerGB)}
		}
		res.Targets = append(res.Targets, tr)
	}
	compare(res)
	return res
}

// compare fills the ratios: each target against direct (req/s, added open
// latency, tunnel MB/s) and each proxy against every other proxy of its mode.
func compare(res *Result) {
	direct, ok := res.Target(Direct)
	if !ok {
		return
	}
	for i := range res.Targets {
		t := &res.Targets[i]
		if t.Kind == KindDirect {
			continue
		}
		t.VsDirect = ratio(t.ReqPerSec.Median, direct.ReqPerSec.Median)
		t.AddedP50 = added(t.OpenP50, direct.OpenP50)
		t.AddedP99 = added(t.OpenP99, direct.OpenP99)
		if t.Tunnel != nil && direct.Tunnel != nil {
			t.Tunnel.VsDirect = ratio(t.Tunnel.MBps.Median, direct.Tunnel.MBps.Median)
		}
		for _, o := range res.Targets {
			if o.Name == t.Name || o.Kind == KindDirect || o.Mode != t.Mode {
				continue
			}
			if t.Vs == nil {
				t.Vs = map[string]Ratio{}
			}
			t.Vs[o.Name] = Ratio{
				ReqPerSec:     ratio(t.ReqPerSec.Median, o.ReqPerSec.Median),
				CPUPerReq:     ratio(t.CPUPerReq.Median, o.CPUPerReq.Median),
				OpenCPUPerReq: ratio(t.OpenCPUPerReq.Median, o.OpenCPUPerReq.Median),
			}
		}
	}
}

// added subtracts direct's latency from a target's, repetition by repetition
// (they ran side by side), and summarises.
func added(t, direct Spread) Spread {
	n := min(len(t.Samples), len(direct.Samples))
	if n == 0 {
		return Spread{}
	}
	d := make([]float64, n)
	for i := range n {
		d[i] = t.Samples[i] - direct.Samples[i]
	}
	return NewSpread(d)
}

func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}
