package loadgen

import hdr "github.com/HdrHistogram/hdrhistogram-go"

// maxDenseCells bounds the live cells with dense histograms in a run. A
// dense histogram records in a few nanoseconds (an array increment) where a
// packed one takes a binary search and sometimes a shift (~100ns), but it
// holds every bucket: about 200 KB for the default range, so two per cell
// and at most this many cells (≈6 MB), plus the harvest's spare pairs, as
// many as one shard has dense cells (the same again at worst); the cells
// past it record packed.
const maxDenseCells = 16

// A live cell is the cell of one shard's entry that requests record into
// (one histogram pair) since the last harvest; it may hold dense
// histograms. Each harvest swaps it for an empty one under the shard lock
// and then, outside the lock, settles what it held into a packed cell for
// the shard's cumulative cell and the series point.

// hist is a latency histogram, dense or packed. Only live cells hold dense
// ones.
type hist struct {
	dense  *hdr.Histogram
	packed *hdr.PackedHistogram
}

func newHist(highest int64, dense bool) hist {
	if dense {
		return hist{dense: hdr.New(histLowest, highest, histDigits)}
	}
	return hist{packed: hdr.NewPacked(histLowest, highest, histDigits)}
}

func (h *hist) record(v int64) {
	if h.dense != nil {
		_ = h.dense.RecordValue(v)
		return
	}
	_ = h.packed.RecordValue(v)
}

// add adds from's counts to h, which is packed.
func (h *hist) add(from *hist) {
	if from.dense != nil {
		h.packed.MergeFrom(from.dense)
		return
	}
	h.packed.Merge(from.packed)
}

// settle turns a dense h into a packed one, emptying the dense histogram,
// and returns that (now empty) dense histogram; a packed h stays as it is.
// Merging the packed form into the cumulative histograms is a linear merge
// of two sorted packed histograms, where merging a dense one would search
// every bucket.
func (h *hist) settle(highest int64) *hdr.Histogram {
	d := h.dense
	if d == nil {
		return nil
	}
	h.packed = hdr.NewPacked(histLowest, highest, histDigits)
	h.packed.MergeFrom(d) // buckets in ascending order: appended
	h.dense = nil
	d.Reset()
	return d
}

// add records one result in a live cell.
func (c *cell) add(res *Result, corrected, raw int64, highest int64) {
	c.requests++
	if res.Success() {
		c.successes++
	}
	if res.Err != "" {
		if c.errors == nil {
			c.errors = map[string]int64{}
		}
		c.errors[res.Err]++
	}
	c.bytes += res.Bytes
	c.corrected.record(clamp(corrected, histLowest, highest))
	c.raw.record(clamp(raw, histLowest, highest))
}
