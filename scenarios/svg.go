package scenarios

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// series is one line of a chart.
type series struct {
	Name   string
	Points [][2]float64 // x (seconds), y
}

// marker is a vertical line on the time axis (an event).
type marker struct {
	X     float64
	Label string
	Bad   bool
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// lineChart draws series over time as a self-contained SVG.
func lineChart(title, unit string, ss []series, xmax float64, marks []marker) template.HTML {
	const w, h, left, right, top, bottom = 760.0, 240.0, 56.0, 140.0, 24.0, 28.0
	ymax := 0.0
	for _, s := range ss {
		for _, p := range s.Points {
			ymax = math.Max(ymax, p[1])
		}
	}
	if ymax == 0 {
		ymax = 1
	}
	ymax = niceCeil(ymax)
	if xmax <= 0 {
		xmax = 1
	}
	px := func(x float64) float64 { return left + (w-left-right)*x/xmax }
	py := func(y float64) float64 { return top + (h-top-bottom)*(1-y/ymax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" class="chart" role="img" aria-label="%s">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="16" class="title">%s</text>`, left, html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, left, w-right, py(y), py(y))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="axis" text-anchor="end">%s</text>`, left-4, py(y)+4, fmtAxis(y, unit))
	}
	step := niceCeil(xmax / 8)
	for x := 0.0; x <= xmax+1e-9; x += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="axis" text-anchor="middle">%gs</text>`, px(x), h-8, x)
	}
	for _, m := range marks {
		cls := "event"
		if m.Bad {
			cls = "event bad"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="%s"/>`, px(m.X), px(m.X), top, h-bottom, cls)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="evlabel" transform="rotate(-90 %.1f %.1f)">%s</text>`,
			px(m.X)+10, top+4, px(m.X)+10, top+4, html.EscapeString(m.Label))
	}
	for i, s := range ss {
		color := palette[i%len(palette)]
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f" class="legend">%s</text>`,
			w-right+10, top+float64(i)*16, color, w-right+24, top+float64(i)*16+9, html.EscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from escaped parts above
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*exp >= v {
			return m * exp
		}
	}
	return 10 * exp
}

func fmtAxis(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%gms", math.Round(v*100)/100)
	default:
		return fmt.Sprintf("%g", math.Round(v*100)/100)
	}
}
