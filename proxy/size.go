package proxy

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes written as 1024, "64KiB", "10MiB", "1GB".
type ByteSize int64

// UnmarshalYAML accepts an integer or a size string.
func (b *ByteSize) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	switch x := v.(type) {
	case uint64:
		*b = ByteSize(x)
	case int64:
		*b = ByteSize(x)
	case int:
		*b = ByteSize(x)
	case float64:
		*b = ByteSize(x)
	case string:
		n, err := ParseByteSize(x)
		if err != nil {
			return err
		}
		*b = n
	default:
		return fmt.Errorf("size %v: want bytes or a string such as 64KiB or 10MiB", v)
	}
	return nil
}

// ParseByteSize parses "123", "64KiB", "10MiB", "1GiB", "1KB", "2MB".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: want bytes or a number with KiB, MiB, GiB, KB, MB or GB", s)
	}
	return ByteSize(n * mult), nil
}

// DefaultMaxBodyBytes is both proxies' request body limit when their config
// leaves it zero (413 beyond).
const DefaultMaxBodyBytes ByteSize = 10 << 20
