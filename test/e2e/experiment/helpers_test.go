package experiment

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// replace substitutes old/new pairs in a manifest.
func replace(s string, oldNew ...string) string { return strings.NewReplacer(oldNew...).Replace(s) }

func metav1ListOptions() metav1.ListOptions { return metav1.ListOptions{} }

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
