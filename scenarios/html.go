package scenarios

import (
	"html/template"
	"io"
	"sort"
	"time"
)

type htmlScenario struct {
	*Result
	Drawing string
	RPS     template.HTML
	Errors  template.HTML
	Latency template.HTML
	P99     template.HTML
}

type htmlPage struct {
	Generated string
	Passed    int
	Total     int
	Scenarios []htmlScenario
}

// WriteHTML writes a self-contained HTML report of results: verdicts, checks,
// topology, and plots of rps, errors and latency over time per server with
// the events marked on the time axis.
func WriteHTML(w io.Writer, results []*Result) error {
	page := htmlPage{Generated: time.Now().Format(time.RFC1123), Total: len(results)}
	for _, r := range results {
		if r.OK() {
			page.Passed++
		}
		hs := htmlScenario{Result: r, Drawing: Drawing(r)}
		if r.Load != nil {
			hs.RPS, hs.Errors, hs.Latency, hs.P99 = charts(r)
		}
		page.Scenarios = append(page.Scenarios, hs)
	}
	return reportTemplate.Execute(w, page)
}

func charts(r *Result) (rps, errs, lat, p99 template.HTML) {
	xmax := r.Load.Duration.Seconds()
	var marks []marker
	for _, e := range r.Events {
		marks = append(marks, marker{X: e.Applied.Seconds(), Label: e.What, Bad: e.Error != ""})
	}
	total := series{Name: "all"}
	fails := series{Name: "failures/s"}
	p50s, p99s := series{Name: "p50"}, series{Name: "p99"}
	per := map[string]*series{}
	perP99 := map[string]*series{}
	prev := 0.0
	for _, pt := range r.Load.Series {
		dt := pt.Offset - prev
		if dt <= 0 {
			dt = 1
		}
		prev = pt.Offset
		total.Points = append(total.Points, [2]float64{pt.Offset, pt.RPS})
		fails.Points = append(fails.Points, [2]float64{pt.Offset, float64(pt.Failures) / dt})
		p50s.Points = append(p50s.Points, [2]float64{pt.Offset, ms(pt.P50)})
		p99s.Points = append(p99s.Points, [2]float64{pt.Offset, ms(pt.P99)})
		for name, sp := range pt.Servers {
			if name == "" {
				continue
			}
			if per[name] == nil {
				per[name], perP99[name] = &series{Name: name}, &series{Name: name + " p99"}
			}
			per[name].Points = append(per[name].Points, [2]float64{pt.Offset, sp.RPS})
			perP99[name].Points = append(perP99[name].Points, [2]float64{pt.Offset, ms(sp.P99)})
		}
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	rpsSeries := []series{total}
	var p99Series []series
	for _, n := range names {
		rpsSeries = append(rpsSeries, *per[n])
		p99Series = append(p99Series, *perP99[n])
	}
	rps = lineChart("requests per second, by server", "", rpsSeries, xmax, marks)
	errs = lineChart("failures per second", "", []series{fails}, xmax, marks)
	lat = lineChart("latency (corrected), ms", "ms", []series{p50s, p99s}, xmax, marks)
	p99 = lineChart("p99 latency by server, ms", "ms", p99Series, xmax, marks)
	return rps, errs, lat, p99
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"dur": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>proxylab report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.passed{color:#1a7f37}.failed,.error{color:#cf222e}.skipped{color:#777}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #eee}
pre{background:#f6f8fa;padding:.8em;overflow:auto;font:12px/1.3 ui-monospace,monospace}
.chart{width:100%;max-width:760px;display:block;margin:.5em 0}
.chart .title{font-weight:600;font-size:12px}.chart .axis,.chart .legend{font-size:10px;fill:#555}
.chart .grid{stroke:#eee}.chart .event{stroke:#999;stroke-dasharray:4 3}.chart .event.bad{stroke:#cf222e}
.chart .evlabel{font-size:10px;fill:#666}
.about{white-space:pre-wrap;color:#444}
</style></head><body>
<h1>proxylab report</h1>
<p>{{.Passed}} of {{.Total}} scenarios passed (or were skipped) · generated {{.Generated}}</p>
<table><tr><th>scenario</th><th>area</th><th>verdict</th><th>requests</th><th>lost</th><th>elapsed</th></tr>
{{range .Scenarios}}<tr><td><a href="#{{.Name}}">{{.Name}}</a></td><td>{{.Area}}</td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{.Ledger.Sent}}</td><td>{{.Ledger.Lost}}</td><td>{{dur .Elapsed}}</td></tr>
{{end}}</table>
{{range .Scenarios}}
<h2 id="{{.Name}}">{{.Name}} <span class="{{.Verdict}}">{{.Verdict}}</span></h2>
<p class="about">{{.About}}</p>
{{if .Reason}}<p class="{{.Verdict}}">{{.Reason}}</p>{{end}}
<pre>{{.Drawing}}</pre>
<table><tr><th></th><th>expectation</th><th>observed</th></tr>
{{range .Checks}}<tr><td class="{{if .Pass}}passed{{else}}failed{{end}}">{{if .Pass}}✔{{else}}✘{{end}}</td><td><code>{{.Expr}}</code></td><td>{{.Observed}} {{.Error}}</td></tr>
{{end}}</table>
{{if .Events}}<table><tr><th>at</th><th>applied</th><th>event</th><th></th></tr>
{{range .Events}}<tr><td>{{dur .At}}</td><td>{{dur .Applied}}</td><td>{{.What}}</td><td class="error">{{.Error}}</td></tr>{{end}}</table>{{end}}
{{.RPS}}{{.Errors}}{{.Latency}}{{.P99}}
<p>ledger: sent {{.Ledger.Sent}}, succeeded {{.Ledger.Succeeded}}, failed {{.Ledger.Failed}}, lost {{.Ledger.Lost}},
served twice {{.Ledger.Duplicated}} (unsafe {{.Ledger.DuplicatedUnsafe}}), misrouted {{.Ledger.Misrouted}}</p>
{{end}}
</body></html>
`))
