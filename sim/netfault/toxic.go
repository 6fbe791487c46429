package netfault

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ToxicType names a kind of fault.
type ToxicType string

// The toxic types, as Toxiproxy names them.
const (
	// Latency delays every chunk by Latency ± Jitter (uniform) from when it was read.
	Latency ToxicType = "latency"
	// Bandwidth limits the direction to Rate bytes per second.
	Bandwidth ToxicType = "bandwidth"
	// ResetPeer resets both sides of the connection (RST) Delay after the
	// toxic starts applying to it (0 = at once).
	ResetPeer ToxicType = "reset_peer"
	// Timeout stops forwarding (the bytes are dropped) and closes the
	// connection Timeout after the toxic starts applying; Timeout 0 holds it
	// until the toxic is removed.
	Timeout ToxicType = "timeout"
	// SlowClose delays the close that follows the end of the stream by Delay.
	SlowClose ToxicType = "slow_close"
	// Slicer splits every chunk into pieces of Size ± SizeVariation bytes,
	// with Delay between pieces.
	Slicer ToxicType = "slicer"
	// LimitData closes the connection once Bytes bytes have passed.
	LimitData ToxicType = "limit_data"
)

var toxicTypes = []ToxicType{Latency, Bandwidth, ResetPeer, Timeout, SlowClose, Slicer, LimitData}

// ParseToxicType reads a toxic type name (case-insensitive; "blackhole" is
// another name for timeout, "reset" for reset_peer).
func ParseToxicType(s string) (ToxicType, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "blackhole":
		return Timeout, nil
	case "reset":
		return ResetPeer, nil
	}
	for _, t := range toxicTypes {
		if string(t) == v {
			return t, nil
		}
	}
	names := make([]string, len(toxicTypes))
	for i, t := range toxicTypes {
		names[i] = string(t)
	}
	return "", fmt.Errorf("toxic type %q is unknown; want one of %s", s, strings.Join(names, ", "))
}

// UnmarshalText parses with ParseToxicType.
func (t *ToxicType) UnmarshalText(b []byte) error {
	v, err := ParseToxicType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Direction says which bytes a toxic acts on.
type Direction int

const (
	// Downstream is server→client bytes (the zero value, as in Toxiproxy).
	Downstream Direction = iota
	// Upstream is client→server bytes.
	Upstream
)

// String returns "downstream" or "upstream".
func (d Direction) String() string {
	if d == Upstream {
		return "upstream"
	}
	return "downstream"
}

// ParseDirection reads "upstream" or "downstream" (also "up", "down").
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "downstream", "down", "":
		return Downstream, nil
	case "upstream", "up":
		return Upstream, nil
	}
	return 0, fmt.Errorf("direction %q is unknown; want upstream (client→server) or downstream (server→client)", s)
}

// MarshalText writes the direction's name.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses with ParseDirection.
func (d *Direction) UnmarshalText(b []byte) error {
	v, err := ParseDirection(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Toxic is one fault on a link. Fields that do not concern its Type are ignored.
type Toxic struct {
	// Name identifies the toxic on its link; empty means "<type>_<direction>".
	Name string `yaml:"name" json:"name"`
	// Type is the kind of fault.
	Type ToxicType `yaml:"type" json:"type"`
	// Direction is the bytes it acts on; zero is Downstream.
	Direction Direction `yaml:"direction" json:"direction"`
	// Probability is the chance (0..1] that it applies to a given connection,
	// decided once per connection from the seed; 0 means 1 (every connection).
	// To switch a toxic off, remove it.
	Probability float64 `yaml:"probability" json:"probability"`
	// Latency is the added delay (latency).
	Latency time.Duration `yaml:"latency" json:"latency"`
	// Jitter widens Latency to Latency ± Jitter, uniform (latency); 0 = none.
	Jitter time.Duration `yaml:"jitter" json:"jitter"`
	// Rate is bytes per second (bandwidth); must be above 0.
	Rate int64 `yaml:"rate" json:"rate"`
	// Bytes is the number of bytes let through before closing (limit_data).
	Bytes int64 `yaml:"bytes" json:"bytes"`
	// Delay is the wait before the reset (reset_peer; 0 = at once), before the
	// close (slow_close) or between slices (slicer; 0 = none).
	Delay time.Duration `yaml:"delay" json:"delay"`
	// Timeout closes the connection this long after the toxic starts holding
	// it (timeout); 0 holds it until the toxic is removed.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Size is the average slice in bytes (slicer); must be above 0.
	Size int `yaml:"size" json:"size"`
	// SizeVariation varies each slice by ± this many bytes (slicer); 0 = none.
	SizeVariation int `yaml:"size_variation" json:"size_variation"`
}

// normalize applies the defaults in one place.
func (t Toxic) normalize() Toxic {
	if typ, err := ParseToxicType(string(t.Type)); err == nil {
		t.Type = typ // canonical name: "Blackhole" becomes "timeout"
	}
	if t.Name == "" {
		t.Name = string(t.Type) + "_" + t.Direction.String()
	}
	if t.Probability == 0 {
		t.Probability = 1
	}
	return t
}

// Validate reports every problem with t.
func (t Toxic) Validate() error {
	var errs []error
	if _, err := ParseToxicType(string(t.Type)); err != nil {
		errs = append(errs, err)
	}
	if t.Direction != Upstream && t.Direction != Downstream {
		errs = append(errs, fmt.Errorf("direction %d is unknown; want Upstream or Downstream", t.Direction))
	}
	if t.Probability < 0 || t.Probability > 1 {
		errs = append(errs, fmt.Errorf("probability %g is outside 0..1; want e.g. 0.3 (0 means 1)", t.Probability))
	}
	neg := func(name string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %s is negative; want a duration like 50ms", name, d))
		}
	}
	neg("latency", t.Latency)
	neg("jitter", t.Jitter)
	neg("delay", t.Delay)
	neg("timeout", t.Timeout)
	switch t.Type {
	case Bandwidth:
		if t.Rate <= 0 {
			errs = append(errs, fmt.Errorf("bandwidth rate %d: want bytes per second above 0 like 65536", t.Rate))
		}
	case LimitData:
		if t.Bytes < 0 {
			errs = append(errs, fmt.Errorf("limit_data bytes %d is negative; want 0 or more", t.Bytes))
		}
	case Slicer:
		if t.Size <= 0 {
			errs = append(errs, fmt.Errorf("slicer size %d: want bytes above 0 like 64", t.Size))
		}
		if t.SizeVariation < 0 || t.SizeVariation >= t.Size && t.Size > 0 {
			errs = append(errs, fmt.Errorf("slicer size_variation %d: want 0 up to size-1", t.SizeVariation))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("toxic %q: %w", t.Name, err)
	}
	return nil
}
