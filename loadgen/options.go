package loadgen

import (
	"io"
	"time"
)

// Defaults of Run's options.
const (
	DefaultSeriesInterval = time.Second
	DefaultGrace          = 5 * time.Second
	DefaultHighestLatency = time.Hour // the largest latency the histograms track
)

// Option configures Run.
type Option func(*runOptions)

type runOptions struct {
	progress Progress
	interval time.Duration
	grace    time.Duration
	highest  time.Duration
	hdrLog   io.Writer
	spin     time.Duration
}

func defaultOptions() runOptions {
	return runOptions{
		interval: DefaultSeriesInterval,
		grace:    DefaultGrace,
		highest:  DefaultHighestLatency,
	}
}

// WithProgress sends live figures to p (nil: none).
func WithProgress(p Progress) Option { return func(o *runOptions) { o.progress = p } }

// WithSeries sets the time-series interval (default DefaultSeriesInterval); it
// is also the period of Progress.Update and of the HDR interval log. Values
// below 10ms are raised to 10ms.
func WithSeries(interval time.Duration) Option {
	return func(o *runOptions) { o.interval = max(interval, 10*time.Millisecond) }
}

// WithGrace sets how long Run waits for in-flight requests once the run is
// over (last phase ended or ctx done) before cancelling them (default
// DefaultGrace; 0 cancels at once).
func WithGrace(d time.Duration) Option { return func(o *runOptions) { o.grace = max(d, 0) } }

// WithHistogramRange sets the largest latency the histograms track (default
// DefaultHighestLatency); larger values are clamped to it. Resolution is 1µs
// with 3 significant digits.
func WithHistogramRange(highest time.Duration) Option {
	return func(o *runOptions) {
		if highest >= time.Millisecond {
			o.highest = highest
		}
	}
}

// WithHDRLog streams an HdrHistogram interval log to w while the run goes: one
// corrected (Tag=corrected) and one raw (Tag=raw) histogram per series
// interval, values in nanoseconds, readable by HdrHistogram's log tools and
// plotters (HistogramLogAnalyzer, hdr-plot).
func WithHDRLog(w io.Writer) Option { return func(o *runOptions) { o.hdrLog = w } }

// WithSpin makes open-loop schedulers busy-wait (yielding with
// runtime.Gosched) for the last d before each intended send time instead of
// sleeping on a timer. Go timers wake up to about a millisecond late on Linux,
// and that lag shows in corrected latency; spinning removes it at the cost of
// CPU while the scheduler waits. 0 (the default) never spins; 1ms is enough.
func WithSpin(d time.Duration) Option { return func(o *runOptions) { o.spin = max(d, 0) } }
