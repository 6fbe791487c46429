package bench

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
)

// WriteHTML writes a self-contained report: the text tables and SVG bar
// charts (req/s and CPU µs per request, with min–max whiskers).
func (r *Result) WriteHTML(w io.Writer) error {
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		return err
	}
	data := struct {
		R      *Result
		Text   string
		Charts []template.HTML
	}{R: r, Text: text.String()}
	data.Charts = append(data.Charts,
		barChart("Throughput, closed loop (req/s)", r.Targets, func(t TargetResult) Spread { return t.ReqPerSec }),
		barChart("Proxy CPU per request (µs)", r.Targets, func(t TargetResult) Spread { return t.CPUPerReq }),
		barChart("Proxy CPU per request at the open-loop rate (µs)", r.Targets, func(t TargetResult) Spread { return t.OpenCPUPerReq }),
		barChart("p99 latency, closed loop (µs)", r.Targets, func(t TargetResult) Spread { return t.P99 }),
		barChart("Added p99 at the open-loop rate (µs)", r.Targets, func(t TargetResult) Spread { return t.AddedP99 }),
		barChart("CONNECT tunnel (MB/s)", r.Targets, func(t TargetResult) Spread {
			if t.Tunnel == nil {
				return Spread{}
			}
			return t.Tunnel.MBps
		}),
	)
	if err := htmlPage.Execute(w, data); err != nil {
		return fmt.Errorf("write bench html: %w", err)
	}
	return nil
}

// barChart draws one horizontal bar per measured target, with a whisker for
// the spread; "" when no target has the figure.
func barChart(title string, targets []TargetResult, pick func(TargetResult) Spread) template.HTML {
	type row struct {
		name string
		s    Spread
	}
	var rows []row
	top := 0.0
	for _, t := range targets {
		if s := pick(t); s.Measured() {
			rows = append(rows, row{t.Name, s})
			top = math.Max(top, math.Max(s.Max, s.Median))
		}
	}
	if len(rows) == 0 || top <= 0 {
		return ""
	}
	const labelW, barW, rowH, pad = 140, 420, 26, 30
	width, height := labelW+barW+90, pad+len(rows)*rowH+10
	x := func(v float64) float64 { return labelW + math.Max(v, 0)/top*barW }
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`, width, height)
	fmt.Fprintf(&b, `<text x="0" y="16" font-weight="bold">%s</text>`, template.HTMLEscapeString(title))
	for i, rw := range rows {
		y := pad + i*rowH
		color := "#4a7ebb"
		if rw.name == Direct {
			color = "#999"
		}
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text>`, y+15, template.HTMLEscapeString(rw.name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="18" fill="%s"/>`, labelW, y+2, x(rw.s.Median)-labelW, color)
		if rw.s.Min != rw.s.Max {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#222"/>`, x(rw.s.Min), x(rw.s.Max), y+11, y+11)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, x(math.Max(rw.s.Max, rw.s.Median))+6, y+15, fmtNum(rw.s.Median))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from escaped parts above
}

func fmtNum(v float64) string {
	switch {
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

var htmlPage = template.Must(template.New("bench").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>proxylab bench</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}pre{background:#f6f6f6;padding:1em;overflow-x:auto}
.charts{display:flex;flex-wrap:wrap;gap:2em}</style></head>
<body><h1>proxylab bench</h1>
<p>{{.R.Start.Format "2006-01-02 15:04:05 MST"}} · {{.R.Env.CPU}}, {{.R.Env.Cores}} cores · kernel {{.R.Env.Kernel}} · {{.R.Env.Go}}
· pinned: {{.R.Env.Pinned}} · medians over {{.R.Setup.Reps}} interleaved repetitions, whiskers min–max</p>
<div class="charts">{{range .Charts}}{{if .}}<div>{{.}}</div>{{end}}{{end}}</div>
<h2>Figures</h2>
<pre>{{.Text}}</pre>
</body></html>
`))
