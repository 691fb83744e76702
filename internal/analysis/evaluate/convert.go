package evaluate

import (
	"fmt"
	"strconv"
)

// asInt is the condition function asInt(x): a number (truncated towards
// zero) or a string holding a base-10 integer. Anything else is an error,
// which expr turns into a failed evaluation rather than a panic.
func asInt(v any) (int64, error) {
	switch n := v.(type) {
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("asInt(): %q is not an integer", n)
		}
		return i, nil
	case float64:
		return int64(n), nil
	case float32:
		return int64(n), nil
	}
	if i, ok := integer(v); ok {
		return i, nil
	}
	if u, ok := unsigned(v); ok {
		return int64(u), nil
	}
	return 0, fmt.Errorf("asInt() not supported on %T %v", v, v)
}

// asFloat is the condition function asFloat(x): a number or a string that
// strconv.ParseFloat accepts (including "NaN" and "+Inf").
func asFloat(v any) (float64, error) {
	switch n := v.(type) {
	case string:
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, fmt.Errorf("asFloat(): %q is not a number", n)
		}
		return f, nil
	case float64:
		return n, nil
	case float32:
		return float64(n), nil
	}
	if i, ok := integer(v); ok {
		return float64(i), nil
	}
	if u, ok := unsigned(v); ok {
		return float64(u), nil
	}
	return 0, fmt.Errorf("asFloat() not supported on %T %v", v, v)
}

func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

func unsigned(v any) (uint64, bool) {
	switch n := v.(type) {
	case uint:
		return uint64(n), true
	case uint8:
		return uint64(n), true
	case uint16:
		return uint64(n), true
	case uint32:
		return uint64(n), true
	case uint64:
		return n, true
	}
	return 0, false
}
