package balance

// Fairness returns Jain's fairness index of the request shares counts
// against the target weights: with x_i = counts[i] / weights[i] it is
// (Σx)² / (n·Σx²), 1 when every server got exactly its weighted share and
// 1/n when one server got everything.
//
// The servers are the keys of weights; when weights is empty they are the
// keys of counts, all with weight 1. A weight of 0 or less counts as 1
// (as in Upstream). Counts of servers absent from weights are ignored. With
// no servers or no requests at all, Fairness returns 1: nothing was unfair.
func Fairness(counts map[string]int, weights map[string]int) float64 {
	var sum, sumSq float64
	n := 0
	add := func(count, weight int) {
		if weight <= 0 {
			weight = 1
		}
		x := float64(count) / float64(weight)
		sum += x
		sumSq += x * x
		n++
	}
	if len(weights) == 0 {
		for _, c := range counts {
			add(c, 1)
		}
	} else {
		for name, w := range weights {
			add(counts[name], w)
		}
	}
	if n == 0 || sumSq == 0 {
		return 1
	}
	return sum * sum / (float64(n) * sumSq)
}
