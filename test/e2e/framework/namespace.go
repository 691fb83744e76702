package framework

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace for this test alone and deletes it when the
// test ends (set AVIARY_E2E_KEEP=1 to keep it for a post-mortem). It returns
// once pods can be created in it (its default ServiceAccount exists).
func Namespace(t testing.TB) string {
	t.Helper()
	e := Get(t)
	name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 45 {
		name = strings.TrimRight(name[:45], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name = "e2e-" + name + "-" + hex.EncodeToString(b)

	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"aviary.dev/e2e": "true"}}}
	if _, err := e.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		if os.Getenv("AVIARY_E2E_KEEP") == "1" {
			t.Logf("keeping namespace %s (AVIARY_E2E_KEEP=1)", name)
			return
		}
		_ = e.Clientset.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	Eventually(t, 30*time.Second, "the default ServiceAccount in "+name, func() (bool, string) {
		_, err := e.Clientset.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	return name
}
