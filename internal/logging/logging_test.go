package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLevelsAndFormats(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "rollout", "web")
	line := strings.TrimSpace(buf.String())
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("--logformat json must write one JSON object per line, got %q: %v", line, err)
	}
	if m["msg"] != "shown" || m["rollout"] != "web" {
		t.Errorf("unexpected record %v (info must be filtered at warn)", m)
	}
	for _, bad := range [][2]string{{"loud", "text"}, {"info", "xml"}} {
		if _, err := New(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("New(%q, %q) must fail", bad[0], bad[1])
		}
	}
}
