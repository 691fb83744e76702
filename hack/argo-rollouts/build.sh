#!/usr/bin/env bash
# Builds Argo Rollouts' controller (cmd/rollouts-controller) at the release
# that go.mod beside this script pins, from the Go module proxy, into the
# path given (make argo-rollouts: .local/argo-rollouts/rollouts-controller).
# The side-by-side benchmark runs it (make bench-compare; bench/README.md).
#
# Built as that release's own Makefile builds it (CGO off, its version
# stamped), with this machine's Go. The first build downloads and compiles
# a few hundred modules: about five minutes on two cores; later ones reuse
# Go's caches.
set -euo pipefail
out=${1:?usage: $0 OUTPUT}
case $out in /*) ;; *) out=$PWD/$out ;; esac
cd "$(dirname "$0")"
go=${GO:-go}
module=github.com/argoproj/argo-rollouts
version=$("$go" list -m -f '{{.Version}}' "$module")
mkdir -p "$(dirname "$out")"
echo "argo-rollouts: building $module/cmd/rollouts-controller $version into $out"
CGO_ENABLED=0 "$go" build -ldflags "-X $module/utils/version.version=${version#v}" -o "$out" "$module/cmd/rollouts-controller"
