package manager

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestGCTarget: --gc-percent when given, else GOGC from the environment
// (left to the Go runtime), else the default.
func TestGCTarget(t *testing.T) {
	env := func(gogc string) func(string) string {
		return func(k string) string {
			if k == "GOGC" {
				return gogc
			}
			return ""
		}
	}
	cases := []struct {
		args        []string
		gogc        string
		wantPercent int
		wantSource  string
	}{
		{nil, "", DefaultGCPercent, "default"},
		{nil, "200", 0, "GOGC=200"},
		{nil, "off", 0, "GOGC=off"},
		{[]string{"--gc-percent", "80"}, "", 80, "--gc-percent"},
		{[]string{"--gc-percent=25"}, "200", 25, "--gc-percent"},
		// Given at the default's value, the flag still wins over GOGC.
		{[]string{"--gc-percent", "50"}, "off", 50, "--gc-percent"},
	}
	for _, c := range cases {
		o, _ := parseArgo(t, c.args...)
		if err := o.Validate(); err != nil {
			t.Errorf("%v: %v", c.args, err)
		}
		percent, source := o.GC(env(c.gogc))
		if percent != c.wantPercent || source != c.wantSource {
			t.Errorf("%v with GOGC=%q: %d from %q, want %d from %q", c.args, c.gogc, percent, source, c.wantPercent, c.wantSource)
		}
	}
}

func TestGCPercentBelowOneIsRefused(t *testing.T) {
	for _, v := range []string{"0", "-1"} {
		o, _ := parseArgo(t, "--gc-percent", v)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), "--gc-percent") || !strings.Contains(err.Error(), "GOGC=off") {
			t.Errorf("--gc-percent %s: error %v, want one naming the flag and GOGC=off", v, err)
		}
	}
}

// TestApplyGC sets the runtime's target and says so.
func TestApplyGC(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	o, _ := parseArgo(t, "--gc-percent", "70")
	if line := o.ApplyGC(); !strings.Contains(line, "GOGC=70") || !strings.Contains(line, "--gc-percent") {
		t.Errorf("log line %q, want the target and its source", line)
	}
	if got := debug.SetGCPercent(70); got != 70 {
		t.Errorf("runtime GC percent %d after ApplyGC, want 70", got)
	}
}
