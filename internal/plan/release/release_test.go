package release

import (
	"slices"
	"testing"
)

func TestUnreferenced(t *testing.T) {
	cases := []struct {
		name    string
		rollout string
		named   []string
		objects []Object
		want    []string
	}{
		{name: "nothing held", rollout: "web", named: []string{"active"},
			objects: []Object{{Name: "active"}, {Name: "other"}}},
		{name: "still named", rollout: "web", named: []string{"active", "preview"},
			objects: []Object{{Name: "active", Holder: "web"}, {Name: "preview", Holder: "web"}}},
		{name: "blue-green to canary without Services releases both", rollout: "web", named: nil,
			objects: []Object{{Name: "active", Holder: "web"}, {Name: "preview", Holder: "web"}},
			want:    []string{"active", "preview"}},
		{name: "renamed canary Service releases the old one only", rollout: "web", named: []string{"web-canary-2", "web-stable"},
			objects: []Object{{Name: "web-canary", Holder: "web"}, {Name: "web-stable", Holder: "web"}, {Name: "web-canary-2", Holder: "web"}},
			want:    []string{"web-canary"}},
		{name: "another rollout's object is left alone", rollout: "web", named: nil,
			objects: []Object{{Name: "api-stable", Holder: "api"}, {Name: "web-stable", Holder: "web"}},
			want:    []string{"web-stable"}},
		{name: "empty names in the spec do not count", rollout: "web", named: []string{"", "active"},
			objects: []Object{{Name: "preview", Holder: "web"}},
			want:    []string{"preview"}},
		{name: "no rollout name releases nothing", rollout: "", named: nil,
			objects: []Object{{Name: "unmarked", Holder: ""}}},
		{name: "a name listed twice is released once", rollout: "web", named: nil,
			objects: []Object{{Name: "dr", Holder: "web"}, {Name: "dr", Holder: "web"}},
			want:    []string{"dr"}},
	}
	for _, c := range cases {
		if got := Unreferenced(c.rollout, c.named, c.objects); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
