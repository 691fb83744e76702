package experiment

import "strings"

// replace substitutes old/new pairs in a manifest.
func replace(s string, oldNew ...string) string { return strings.NewReplacer(oldNew...).Replace(s) }
