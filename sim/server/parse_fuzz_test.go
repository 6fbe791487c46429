package server_test

import (
	"math/rand/v2"
	"testing"

	"github.com/proxylab/proxylab/sim/server"
)

// FuzzParseKnobs checks that no knob string makes a parser panic and that
// whatever parses draws sane values.
func FuzzParseKnobs(f *testing.F) {
	for _, s := range []string{"5ms", "1ms-5ms", "normal(10ms,2ms)", "lognormal(10ms,2ms):5,3ms:1",
		"5ms:80,250ms:2", "200:99,503:1", "1KiB:90,16KiB:10", "((", "):", ",,:", "normal(,)", "1e308:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := rand.New(rand.NewPCG(1, 2))
		if l, err := server.ParseLatency(s); err == nil {
			if d := l.Sample(r); d < 0 {
				t.Fatalf("latency %q drew %v", s, d)
			}
		}
		if m, err := server.ParseStatusMix(s); err == nil {
			if c := m.Sample(r); c < 100 || c > 999 {
				t.Fatalf("status %q drew %d", s, c)
			}
		}
		if m, err := server.ParseSizeMix(s); err == nil {
			if n := m.Sample(r); n < 0 {
				t.Fatalf("size %q drew %d", s, n)
			}
		}
		var b server.Behaviour
		_ = b.SetKnob(server.KnobDrip, s)
		_ = b.SetKnob(server.KnobHeader, s)
		_, _ = server.ParseProbability("p", s)
	})
}
