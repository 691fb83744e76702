package metrics

import (
	"bufio"
	"math"
	"sort"
	"strconv"
	"strings"
)

// textWriter writes families in Prometheus's text exposition format
// (version 0.0.4; version 1.0.0 is the same for these names), straight
// from the controller's own state. Hand-written because client_golang's
// encoder (expfmt) encodes dto.MetricFamily messages: a scrape through it
// first gathers a message per series, per label pair and per value for
// every family and holds the whole tree until the last byte is written —
// at 1,000 rollouts that is the controller's largest short-lived
// allocation, and it sets the peak resident memory (bench/README.md,
// "Where the peak is"). The per-object families are written here one
// series at a time instead; everything else still goes through client_golang
// (exposition.go).
type textWriter struct {
	w   *bufio.Writer
	num []byte
}

// label escaping as the format specifies: backslash and newline in help
// texts, and double quotes too in label values.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// family is what the text format needs of a family: its name, help, type
// and label names, the latter with the order client_golang writes them in
// (sorted by name), so a scrape reads the same whichever way it is served.
type family struct {
	name, help, typ string
	labels          []string
	// order lists the indexes of labels sorted by label name.
	order []int
}

func newFamily(name, help, typ string, labels []string) family {
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return labels[order[a]] < labels[order[b]] })
	return family{name: name, help: help, typ: typ, labels: labels, order: order}
}

// header starts f: its HELP and TYPE lines.
func (t *textWriter) header(f *family) {
	t.w.WriteString("# HELP ")
	t.w.WriteString(f.name)
	t.w.WriteByte(' ')
	helpEscaper.WriteString(t.w, f.help)
	t.w.WriteString("\n# TYPE ")
	t.w.WriteString(f.name)
	t.w.WriteByte(' ')
	t.w.WriteString(f.typ)
	t.w.WriteByte('\n')
}

// sample writes one line of f: its name with suffix, the label values
// (in f.labels' order), an optional extra label (a histogram's le) and
// the value, already formatted.
func (t *textWriter) sample(f *family, suffix string, values []string, extraName, extraValue string, value []byte) {
	t.w.WriteString(f.name)
	t.w.WriteString(suffix)
	if len(values) > 0 || extraName != "" {
		t.w.WriteByte('{')
		for n, i := range f.order {
			if n > 0 {
				t.w.WriteByte(',')
			}
			t.label(f.labels[i], values[i])
		}
		if extraName != "" {
			if len(values) > 0 {
				t.w.WriteByte(',')
			}
			t.label(extraName, extraValue)
		}
		t.w.WriteByte('}')
	}
	t.w.WriteByte(' ')
	t.w.Write(value)
	t.w.WriteByte('\n')
}

func (t *textWriter) label(name, value string) {
	t.w.WriteString(name)
	t.w.WriteString(`="`)
	valueEscaper.WriteString(t.w, value)
	t.w.WriteByte('"')
}

// float formats v as client_golang does (shortest 'g', ±Inf, NaN).
func (t *textWriter) float(v float64) []byte {
	switch {
	case math.IsInf(v, +1):
		t.num = append(t.num[:0], "+Inf"...)
	case math.IsInf(v, -1):
		t.num = append(t.num[:0], "-Inf"...)
	case math.IsNaN(v):
		t.num = append(t.num[:0], "NaN"...)
	default:
		t.num = strconv.AppendFloat(t.num[:0], v, 'g', -1, 64)
	}
	return t.num
}

// gauge writes one gauge or counter sample.
func (t *textWriter) gauge(f *family, v float64, values []string) {
	t.sample(f, "", values, "", "", t.float(v))
}

// histogram writes one histogram series: a cumulative bucket per bound
// (le holds the bounds formatted), the +Inf bucket, the sum and the count.
// counts are per bucket, not cumulative, the last slot counting those
// above every bound. Counts are written as floats, as client_golang does.
func (t *textWriter) histogram(f *family, le []string, counts []uint64, count uint64, sum float64, values []string) {
	var n uint64
	for i, bound := range le {
		if i < len(counts) {
			n += counts[i]
		}
		t.sample(f, "_bucket", values, "le", bound, t.float(float64(n)))
	}
	t.sample(f, "_bucket", values, "le", "+Inf", t.float(float64(count)))
	t.sample(f, "_sum", values, "", "", t.float(sum))
	t.sample(f, "_count", values, "", "", t.float(float64(count)))
}

// formatBounds formats a histogram's bucket bounds as its le labels.
func formatBounds(bounds []float64) []string {
	le := make([]string, len(bounds))
	var t textWriter
	for i, b := range bounds {
		le[i] = string(t.float(b))
	}
	return le
}
