package dashboard

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aviary-rollouts/aviary/internal/analysis/judge"
)

// TestJudgementLevels: the page reads each side's summary as the judge's
// SummaryQuantiles; a change of those must change the page too.
func TestJudgementLevels(t *testing.T) {
	src, err := uiFiles.ReadFile("ui/judgement.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`export const LEVELS = \[([^\]]*)\];`).FindSubmatch(src)
	if m == nil {
		t.Fatal("ui/judgement.js declares no LEVELS")
	}
	var want []string
	for _, q := range judge.SummaryQuantiles {
		want = append(want, fmt.Sprint(q))
	}
	if got := strings.ReplaceAll(string(m[1]), " ", ""); got != strings.Join(want, ",") {
		t.Errorf("ui/judgement.js LEVELS [%s], judge.SummaryQuantiles %v", got, judge.SummaryQuantiles)
	}
}
