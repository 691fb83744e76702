package wave

import (
	"bytes"
	"strings"
	"testing"
)

func TestSoakFlatness(t *testing.T) {
	for _, tc := range []struct {
		name string
		rss  []float64
		want string
	}{
		{"one wave says nothing", []float64{60}, ""},
		{"flat", []float64{60, 63, 57, 65.9}, "(60.0 MiB): yes (from -5.0% to +9.8%)"},
		{"grows past 10%", []float64{60, 62, 64, 66.6}, "(60.0 MiB): no (from +3.3% to +11.0%)"},
		{"shrinks past 10%", []float64{60, 53.9}, "(60.0 MiB): no (from -10.2% to -10.2%)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := &Soak{W: &out, rss: tc.rss, heap: make([]float64, len(tc.rss))}
			s.PrintFlatness()
			if tc.want == "" {
				if out.Len() != 0 {
					t.Fatalf("printed %q, want nothing", out.String())
				}
				return
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("printed %q, want it to contain %q", out.String(), tc.want)
			}
		})
	}
}

func TestSoakFlatnessNamesTheWaves(t *testing.T) {
	var out bytes.Buffer
	(&Soak{W: &out, rss: []float64{50, 51}, heap: []float64{5, 5}}).PrintFlatness()
	if want := "RSS after wave 2 within ±10% of RSS after wave 1 (50.0 MiB): yes"; !strings.Contains(out.String(), want) {
		t.Fatalf("printed %q, want it to contain %q", out.String(), want)
	}
	if want := "Go heap live after wave 2 against wave 1's (5.0 MiB): from +0.0% to +0.0%"; !strings.Contains(out.String(), want) {
		t.Fatalf("printed %q, want it to contain %q", out.String(), want)
	}
}
