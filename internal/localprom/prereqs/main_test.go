package main

import (
	"strings"
	"testing"
)

// The control-plane check reads its versions from hack/localcluster: a
// renamed constant would make it say "versions not readable".
func TestControlPlaneVersionsReadable(t *testing.T) {
	v, err := constStrings("../../../hack/localcluster/binaries.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kubeVersion", "etcdVersion", "kwokVersion"} {
		if !strings.HasPrefix(v[name], "v") {
			t.Errorf("%s = %q in hack/localcluster/binaries.go, want a version", name, v[name])
		}
	}
}
