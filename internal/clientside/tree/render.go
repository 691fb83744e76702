package tree

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/aviary-rollouts/aviary/internal/analysis/judge"
)

// ANSI colour codes the plugin uses.
const (
	colorNone   = 0
	colorRed    = 31
	colorGreen  = 32
	colorYellow = 33
	colorHiBlue = 94
)

// colors maps icons, tags and analysis phases to their colour; anything
// else gets code 0 (see Printer.paint).
var colors = map[string]int{
	IconWaiting:     colorYellow,
	IconProgressing: colorHiBlue,
	IconWarning:     colorRed,
	IconUnknown:     colorYellow,
	IconOK:          colorGreen,
	IconBad:         colorRed,
	TagCanary:       colorYellow,
	TagStable:       colorGreen,
	TagActive:       colorGreen,
	TagPreview:      colorHiBlue,
	TagPing:         colorHiBlue,
	TagPong:         colorHiBlue,
	"Pending":       colorHiBlue,
	"Running":       colorHiBlue,
}

// ColorWanted is whether output should be coloured: not with --no-color,
// and not on a terminal that declares it cannot (TERM=dumb).
func ColorWanted(noColor bool) bool {
	return !noColor && os.Getenv("TERM") != "dumb"
}

// Printer renders views. Now is the time ages are measured from, so that
// output is reproducible in tests.
type Printer struct {
	Color bool
	Now   time.Time
}

// ClearScreen moves the cursor home and clears the terminal, before each
// redraw of a watch.
const ClearScreen = "\x1b[H\x1b[2J\x1b[0;0H"

// header is one "Label:   value" line of the header block.
func header(w io.Writer, label string, value any) {
	fmt.Fprintf(w, "%-17s%v\n", label, value)
}

// Rollout writes the header block and the tree of v.
func (p Printer) Rollout(w io.Writer, v *Rollout) error {
	var b strings.Builder
	p.identity(&b, v.Name, v.Namespace, RolloutIcon(v.Status), v.Status, v.Message)
	header(&b, "Strategy:", v.Strategy)
	if v.Strategy == "Canary" {
		header(&b, "  Step:", v.Step)
		header(&b, "  SetWeight:", v.SetWeight)
		header(&b, "  ActualWeight:", v.ActualWeight)
	}
	p.images(&b, rolloutImages(v))
	b.WriteString("Replicas:\n")
	header(&b, "  Desired:", v.Desired)
	header(&b, "  Current:", v.Current)
	header(&b, "  Updated:", v.Updated)
	header(&b, "  Ready:", v.Ready)
	header(&b, "  Available:", v.Available)
	b.WriteString("\n")

	t := p.newTable()
	t.row(GlyphRollout+" "+v.Name, "Rollout", p.paint(RolloutIcon(v.Status))+" "+v.Status, p.age(v.Created), "")
	revs := revisions(v)
	for i, rev := range revs {
		prefix, sub := branch(i == len(revs)-1, "")
		t.row(prefix+GlyphRevision+" revision:"+strconv.Itoa(rev), "", " ", "", "")
		var kids []func(prefix, sub string)
		for _, rs := range v.ReplicaSets {
			if rs.Revision == rev {
				kids = append(kids, func(pf, sf string) { p.replicaSet(t, rs, pf, sf) })
			}
		}
		for _, e := range v.Experiments {
			if e.Revision == rev {
				kids = append(kids, func(pf, sf string) { p.experiment(t, e, pf, sf) })
			}
		}
		for _, ar := range v.AnalysisRuns {
			if ar.Revision == rev {
				kids = append(kids, func(pf, sf string) { p.analysisRun(t, ar, pf, sf) })
			}
		}
		for j, kid := range kids {
			kid(branch(j == len(kids)-1, sub))
		}
	}
	t.write(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// Experiment writes the header block and the tree of v.
func (p Printer) Experiment(w io.Writer, v *Experiment) error {
	var b strings.Builder
	p.identity(&b, v.Name, v.Namespace, AnalysisIcon(v.Status), v.Status, v.Message)
	p.images(&b, experimentImages(v))
	b.WriteString("\n")
	t := p.newTable()
	p.experiment(t, *v, "", "")
	t.write(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// identity writes the header lines every object starts with.
func (p Printer) identity(b *strings.Builder, name, namespace, icon, status, message string) {
	header(b, "Name:", name)
	header(b, "Namespace:", namespace)
	header(b, "Status:", p.paint(icon)+" "+status)
	if message != "" {
		header(b, "Message:", message)
	}
}

func (p Printer) images(b *strings.Builder, images []image) {
	for i, img := range images {
		label := ""
		if i == 0 {
			label = "Images:"
		}
		s := img.name
		if len(img.tags) > 0 {
			tags := make([]string, len(img.tags))
			for j, tag := range img.tags {
				tags[j] = p.paint(tag)
			}
			s += " (" + strings.Join(tags, ", ") + ")"
		}
		header(b, label, s)
	}
}

func (p Printer) replicaSet(t *table, rs ReplicaSet, prefix, sub string) {
	var info []string
	name := rs.Name
	tag := func(on bool, tag string) {
		if on {
			info = append(info, p.paint(tag))
			name = p.paintAs(name, tag)
		}
	}
	tag(rs.Stable, TagStable)
	// A ReplicaSet is canary, active or preview, whichever comes first.
	switch {
	case rs.Canary:
		tag(true, TagCanary)
	case rs.Active:
		tag(true, TagActive)
	case rs.Preview:
		tag(true, TagPreview)
	}
	tag(rs.Ping, TagPing)
	tag(rs.Pong, TagPong)
	if rs.ScaleDownDeadline != "" {
		info = append(info, "delay:"+p.scaleDownDelay(rs.ScaleDownDeadline))
	}
	t.row(prefix+GlyphReplicaSet+" "+name, "ReplicaSet", p.paint(ReplicaSetIcon(rs.Status))+" "+rs.Status, p.age(rs.Created), strings.Join(info, ","))
	for i, pod := range rs.Pods {
		podPrefix, _ := branch(i == len(rs.Pods)-1, sub)
		podInfo := "ready:" + pod.Ready
		if pod.Restarts > 0 {
			podInfo += ",restarts:" + strconv.Itoa(pod.Restarts)
		}
		t.row(podPrefix+GlyphPod+" "+pod.Name, "Pod", p.paint(PodIcon(pod.Status))+" "+pod.Status, p.age(pod.Created), podInfo)
	}
}

func (p Printer) analysisRun(t *table, ar AnalysisRun, prefix, sub string) {
	var info []string
	count := func(icon string, n int32) {
		if n > 0 {
			info = append(info, fmt.Sprintf("%s %d", p.paint(icon), n))
		}
	}
	count(IconOK, ar.Successful)
	count(IconBad, ar.Failed)
	count(IconUnknown, ar.Inconclusive)
	count(IconWarning, ar.Error)
	t.row(prefix+GlyphAnalysis+" "+p.paintAs(ar.Name, ar.Status), "AnalysisRun", p.paint(AnalysisIcon(ar.Status))+" "+ar.Status, p.age(ar.Created), strings.Join(info, ","))
	kids := len(ar.Jobs) + len(ar.Judgements)
	for i, job := range ar.Jobs {
		jobPrefix, _ := branch(i == kids-1, sub)
		t.row(jobPrefix+GlyphJob+" "+p.paintAs(job.Name, job.Status), "Job", p.paint(AnalysisIcon(job.Status))+" "+job.Status, p.age(job.Created), "")
	}
	for i, j := range ar.Judgements {
		pf, sf := branch(len(ar.Jobs)+i == kids-1, sub)
		p.judgement(t, j, pf, sf)
	}
}

// judgement writes a judge metric's row (its outcome and score) and a row
// per verdict. They are Aviary's rows: below an AnalysisRun, after its
// Jobs, in the tree's columns, so what reads Argo Rollouts' rows reads the
// same rows as before.
func (p Printer) judgement(t *table, j Judgement, prefix, sub string) {
	out, age := j.Value.Outcome, ""
	if !j.Measured.IsZero() {
		age = p.age(j.Measured)
	}
	t.row(prefix+GlyphJudgement+" "+p.paintAs(j.Metric, out), "Judgement", p.paint(JudgementIcon(out))+" "+out, age, "score:"+strconv.FormatFloat(j.Value.Score, 'g', 4, 64))
	for i, v := range j.Value.Verdicts {
		pf, _ := branch(i == len(j.Value.Verdicts)-1, sub)
		class := string(v.Class)
		t.row(pf+GlyphVerdict+" "+p.paintAs(v.Metric, class), "Verdict", p.paint(JudgementIcon(class))+" "+class, "", verdictInfo(v))
	}
}

// verdictInfo is a verdict in the INFO column's key:value style: the
// baseline's and canary's medians, the effect (on the median, or on the
// mean when marked so) with its interval, the p-value and the samples per
// side, baseline first. A verdict with no effect (too few samples, a
// baseline of 0 throughout) ends with the judge's reason instead.
func verdictInfo(v judge.Verdict) string {
	var info []string
	if v.Critical {
		info = append(info, "critical")
	}
	num := func(f float64, digits int) string { return strconv.FormatFloat(f, 'g', digits, 64) }
	pct := func(f float64) string { return fmt.Sprintf("%+.1f%%", 100*f) }
	if v.Class != judge.NoData {
		info = append(info, "baseline:"+num(v.BaselineMedian, 4), "canary:"+num(v.CanaryMedian, 4))
	}
	if v.EffectOf != "" {
		key := "effect"
		if v.EffectOf != judge.EffectOfMedian {
			key += "(" + v.EffectOf + ")"
		}
		info = append(info, fmt.Sprintf("%s:%s[%s..%s]", key, pct(v.Effect), pct(v.EffectLow), pct(v.EffectHigh)), "p:"+num(v.PValue, 2))
	}
	s := strings.Join(append(info, fmt.Sprintf("n:%d/%d", v.BaselineN, v.CanaryN)), ",")
	if v.EffectOf == "" && v.Reason != "" {
		s += " (" + v.Reason + ")"
	}
	return s
}

func (p Printer) experiment(t *table, e Experiment, prefix, sub string) {
	t.row(prefix+GlyphExperiment+" "+p.paintAs(e.Name, e.Status), "Experiment", p.paint(AnalysisIcon(e.Status))+" "+e.Status, p.age(e.Created), "")
	total := len(e.ReplicaSets) + len(e.AnalysisRuns)
	n := 0
	for _, rs := range e.ReplicaSets {
		n++
		pf, sf := branch(n == total, sub)
		p.replicaSet(t, rs, pf, sf)
	}
	for _, ar := range e.AnalysisRuns {
		n++
		pf, sf := branch(n == total, sub)
		p.analysisRun(t, ar, pf, sf)
	}
}

// branch returns the prefix of a child row and the prefix its own
// children continue under.
func branch(last bool, sub string) (prefix, childSub string) {
	if last {
		return sub + "└──", sub + "   "
	}
	return sub + "├──", sub + "│  "
}

// paint colours s by what s is (an icon, a tag or a phase).
func (p Printer) paint(s string) string { return p.paintAs(s, s) }

// paintAs colours s with the colour of key. Even words without a colour
// are wrapped (in code 0): the plugin does so, and coloured and plain cells
// then have escapes alike.
func (p Printer) paintAs(s, key string) string {
	if !p.Color {
		return s
	}
	return fmt.Sprintf("\x1b[%dm%s\x1b[%dm", colors[key], s, colorNone)
}

// age is how long ago t was, as kubectl words it (7d, 3h4m, 25s).
func (p Printer) age(t time.Time) string {
	return duration.HumanDuration(p.Now.Sub(t))
}

// scaleDownDelay is the time left before an old ReplicaSet's scale-down,
// or "passed".
func (p Printer) scaleDownDelay(deadline string) string {
	d, err := time.Parse(time.RFC3339, deadline)
	if err != nil {
		return ""
	}
	if d.Before(p.Now) {
		return "passed"
	}
	return duration.HumanDuration(d.Sub(p.Now))
}

// revisions are the revisions any child belongs to, newest first.
func revisions(v *Rollout) []int {
	var revs []int
	for _, rs := range v.ReplicaSets {
		revs = append(revs, rs.Revision)
	}
	for _, e := range v.Experiments {
		revs = append(revs, e.Revision)
	}
	for _, ar := range v.AnalysisRuns {
		revs = append(revs, ar.Revision)
	}
	slices.Sort(revs)
	revs = slices.Compact(revs)
	slices.Reverse(revs)
	return revs
}

// image is one image the header lists with its tags.
type image struct {
	name string
	tags []string
}

// rolloutImages are the images of ReplicaSets with pods, and of the
// Rollout's experiments, each tagged with the roles running it.
func rolloutImages(v *Rollout) []image {
	var images []image
	for _, rs := range v.ReplicaSets {
		if rs.Replicas == 0 {
			continue
		}
		var tags []string
		for _, t := range []struct {
			on  bool
			tag string
		}{{rs.Canary, TagCanary}, {rs.Stable, TagStable}, {rs.Active, TagActive}, {rs.Preview, TagPreview}, {rs.Ping, TagPing}, {rs.Pong, TagPong}} {
			if t.on {
				tags = append(tags, t.tag)
			}
		}
		for _, name := range rs.Images {
			images = mergeImage(images, image{name: name, tags: tags})
		}
	}
	for i := range v.Experiments {
		for _, img := range experimentImages(&v.Experiments[i]) {
			images = mergeImage(images, img)
		}
	}
	return images
}

// experimentImages are the images of the experiment's running templates,
// tagged Σ:<template>.
func experimentImages(e *Experiment) []image {
	var images []image
	for _, rs := range e.ReplicaSets {
		if rs.Replicas == 0 {
			continue
		}
		var tags []string
		if rs.Template != "" {
			tags = []string{"Σ:" + rs.Template}
		}
		for _, name := range rs.Images {
			images = mergeImage(images, image{name: name, tags: tags})
		}
	}
	return images
}

// mergeImage adds img to images, sorted by name; an image already there
// gets the union of both tag lists, sorted. (A single ReplicaSet's tags
// keep their role order: "stable, active".)
func mergeImage(images []image, img image) []image {
	i := slices.IndexFunc(images, func(x image) bool { return x.name == img.name })
	if i < 0 {
		images = append(images, image{name: img.name, tags: slices.Clone(img.tags)})
	} else {
		tags := append(slices.Clone(images[i].tags), img.tags...)
		slices.Sort(tags)
		images[i].tags = slices.Compact(tags)
	}
	slices.SortStableFunc(images, func(a, b image) int { return strings.Compare(a.name, b.name) })
	return images
}

// table aligns the tree's columns as a tab writer with padding 2 does,
// measuring cells by the runes they show: colour escapes take no room.
type table struct {
	rows [][5]string
}

func (p Printer) newTable() *table {
	t := &table{}
	t.row("NAME", "KIND", "STATUS", "AGE", "INFO")
	return t
}

func (t *table) row(name, kind, status, age, info string) {
	t.rows = append(t.rows, [5]string{name, kind, status, age, info})
}

func (t *table) write(b *strings.Builder) {
	var widths [4]int
	for _, r := range t.rows {
		for c := range widths {
			widths[c] = max(widths[c], visibleWidth(r[c]))
		}
	}
	for _, r := range t.rows {
		for c := range widths {
			b.WriteString(r[c])
			b.WriteString(strings.Repeat(" ", widths[c]+2-visibleWidth(r[c])))
		}
		b.WriteString(r[4])
		b.WriteString("\n")
	}
}

// visibleWidth counts the runes of s outside ANSI escape sequences.
func visibleWidth(s string) int {
	n := 0
	for len(s) > 0 {
		if s[0] == '\x1b' {
			end := strings.IndexByte(s, 'm')
			if end < 0 {
				return n
			}
			s = s[end+1:]
			continue
		}
		_, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		n++
	}
	return n
}
