package health

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/proxylab/proxylab/proxy/balance"
)

// maxProbeBody is how much of a probe's response body is read before the
// connection is reused; a health endpoint has no business sending more.
const maxProbeBody = 64 << 10

// prober probes one upstream and applies the rise/fall thresholds. It is
// owned by one goroutine, so its counters need no lock.
type prober struct {
	a        *Active
	u        *balance.Upstream
	rng      *rand.Rand
	passes   int // successful probes in a row
	failures int // failed probes in a row
}

func newProber(a *Active, u *balance.Upstream) *prober {
	h := uint64(14695981039346656037)
	for i := 0; i < len(u.Name); i++ {
		h = (h ^ uint64(u.Name[i])) * 1099511628211
	}
	return &prober{a: a, u: u, rng: rand.New(rand.NewPCG(a.seed, h))}
}

// run probes at once, then every Interval ± Jitter, until ctx ends.
func (p *prober) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		err := p.probe(ctx)
		if ctx.Err() != nil {
			return // a probe cut short by Stop says nothing about the upstream
		}
		p.record(err)
		timer.Reset(p.wait())
	}
}

// wait returns Interval plus a uniform jitter in [-Jitter, +Jitter].
func (p *prober) wait() time.Duration {
	d := p.a.cfg.Interval
	if j := p.a.cfg.Jitter; j > 0 {
		d += time.Duration(p.rng.Int64N(int64(2*j)+1)) - j
	}
	return d
}

// probe sends one request; nil means the upstream answered as expected.
func (p *prober) probe(ctx context.Context) error {
	if p.u.URL == nil {
		return fmt.Errorf("probe %s: upstream has no URL", p.u.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, p.a.cfg.Timeout)
	defer cancel()
	target := p.u.URL.ResolveReference(p.a.path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", p.u.Name, err)
	}
	if p.a.cfg.Host != "" {
		req.Host = p.a.cfg.Host
	}
	req.Header.Set("User-Agent", "proxylab-health/1")
	resp, err := p.a.client.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s %s: %w", p.u.Name, target, err)
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("probe %s %s: read body: %w", p.u.Name, target, err)
	}
	if !p.expected(resp.StatusCode) {
		return fmt.Errorf("probe %s %s: status %d", p.u.Name, target, resp.StatusCode)
	}
	return nil
}

func (p *prober) expected(status int) bool {
	if p.a.cfg.Expect == 0 {
		return status >= 200 && status < 300
	}
	return status == p.a.cfg.Expect
}

// record applies one probe result to the thresholds.
func (p *prober) record(err error) {
	a := p.a
	a.probes.Add(1)
	if err == nil {
		p.failures = 0
		p.passes++
		if !p.u.Healthy() && p.passes >= a.cfg.Rise {
			p.flip(true)
		}
		return
	}
	a.failures.Add(1)
	p.passes = 0
	p.failures++
	if p.u.Healthy() && p.failures >= a.cfg.Fall {
		p.flip(false)
	}
}

func (p *prober) flip(healthy bool) {
	p.u.SetHealthy(healthy)
	p.a.flips.Add(1)
	if p.a.observer != nil {
		p.a.observer(p.u, healthy)
	}
}
