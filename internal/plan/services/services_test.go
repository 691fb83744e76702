package services

import "testing"

func TestShouldSwitch(t *testing.T) {
	cases := []struct {
		name    string
		current string
		managed bool
		target  Target
		want    bool
	}{
		{"already pointing there", "abc", true, Target{Hash: "abc", Replicas: 3, Available: 3}, false},
		{"managed, one pod available", "old", true, Target{Hash: "new", Replicas: 3, Available: 1}, true},
		{"managed, none available", "old", true, Target{Hash: "new", Replicas: 3, Available: 0}, false},
		{"adopting needs all pods", "", false, Target{Hash: "new", Replicas: 3, Available: 2}, false},
		{"adopting, fully available", "", false, Target{Hash: "new", Replicas: 3, Available: 3}, true},
		{"adopting a target with no replicas", "", false, Target{Hash: "new", Replicas: 0, Available: 0}, false},
		{"no target", "old", true, Target{}, false},
	}
	for _, c := range cases {
		if got := ShouldSwitch(c.current, c.managed, c.target); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
