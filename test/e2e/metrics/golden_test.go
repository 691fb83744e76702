package metrics

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// family is one line of testdata/families.txt.
type family struct {
	name, typ string
	optional  bool
	labels    []string
	atLeast   bool   // labels are a minimum
	help      string // "" when not compared
}

// golden is testdata/families.txt.
type golden struct {
	families []family
	// values: family → label → values that must be seen.
	values map[string]map[string][]string
}

func readGolden(path string) (*golden, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	g := &golden{values: map[string]map[string][]string{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		switch {
		case fields[0] == "family" && len(fields) == 5:
			fam := family{name: fields[1], typ: strings.TrimSuffix(fields[2], "?"), optional: strings.HasSuffix(fields[2], "?"), help: fields[4]}
			if fam.help == "-" {
				fam.help = ""
			}
			labels := fields[3]
			fam.atLeast = strings.HasPrefix(labels, "+")
			if labels = strings.TrimPrefix(labels, "+"); labels != "" {
				fam.labels = strings.Split(labels, ",")
			}
			g.families = append(g.families, fam)
		case fields[0] == "values" && len(fields) == 4:
			if g.values[fields[1]] == nil {
				g.values[fields[1]] = map[string][]string{}
			}
			var vals []string
			for _, v := range strings.Split(fields[3], ",") {
				if v == `""` {
					v = ""
				}
				vals = append(vals, v)
			}
			g.values[fields[1]][fields[2]] = vals
		default:
			return nil, fmt.Errorf("%s:%d: %q is neither a family nor a values line", path, n, line)
		}
	}
	return g, sc.Err()
}

// seen is what the scrapes of a run showed, family by family.
type seen struct {
	mu       sync.Mutex
	scrapes  int
	families map[string]*seenFamily
}

type seenFamily struct {
	typ, help string
	labels    map[string]bool            // label names of any series
	values    map[string]map[string]bool // label → values
}

func newSeen() *seen { return &seen{families: map[string]*seenFamily{}} }

// add parses one scrape in the text format.
func (s *seen) add(r io.Reader) error {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scrapes++
	for name, mf := range parsed {
		f := s.families[name]
		if f == nil {
			f = &seenFamily{labels: map[string]bool{}, values: map[string]map[string]bool{}}
			s.families[name] = f
		}
		f.typ, f.help = strings.ToLower(mf.GetType().String()), mf.GetHelp()
		for _, m := range mf.Metric {
			addLabels(f, m)
		}
	}
	return nil
}

func addLabels(f *seenFamily, m *dto.Metric) {
	for _, l := range m.Label {
		f.labels[l.GetName()] = true
		if f.values[l.GetName()] == nil {
			f.values[l.GetName()] = map[string]bool{}
		}
		f.values[l.GetName()][l.GetValue()] = true
	}
}

// saw says whether a scrape showed a series of family with label=value.
func (s *seen) saw(family, label, value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.families[family]
	return f != nil && f.values[label][value]
}

// compare lists how what was seen differs from g: missing families, other
// types, help texts or labels, label values never seen.
func (s *seen) compare(g *golden) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var problems []string
	for _, want := range g.families {
		got := s.families[want.name]
		if got == nil {
			if !want.optional {
				problems = append(problems, fmt.Sprintf("%s: never in a scrape", want.name))
			}
			continue
		}
		if got.typ != want.typ {
			problems = append(problems, fmt.Sprintf("%s: type %s, want %s", want.name, got.typ, want.typ))
		}
		if want.help != "" && got.help != want.help {
			problems = append(problems, fmt.Sprintf("%s: help %q, want %q", want.name, got.help, want.help))
		}
		labels := slices.Sorted(maps.Keys(got.labels))
		wantLabels := slices.Sorted(slices.Values(want.labels))
		switch {
		case want.atLeast && !containsAll(labels, wantLabels):
			problems = append(problems, fmt.Sprintf("%s: labels %v, want at least %v", want.name, labels, wantLabels))
		case !want.atLeast && !slices.Equal(labels, wantLabels):
			problems = append(problems, fmt.Sprintf("%s: labels %v, want %v", want.name, labels, wantLabels))
		}
	}
	for name, byLabel := range g.values {
		got := s.families[name]
		for label, vals := range byLabel {
			for _, v := range vals {
				if got == nil || !got.values[label][v] {
					var saw []string
					if got != nil {
						saw = slices.Sorted(maps.Keys(got.values[label]))
					}
					problems = append(problems, fmt.Sprintf("%s: %s=%q never seen (saw %q)", name, label, v, saw))
				}
			}
		}
	}
	slices.Sort(problems)
	return problems
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
