#!/usr/bin/env bash
# Runs every Go native fuzz target (func FuzzX(f *testing.F)) in the module,
# one after another, each for $FUZZTIME, and exits non-zero if any fails.
#
#   hack/fuzz-go.sh                  # every package
#   hack/fuzz-go.sh ./internal/...   # only these packages
#
# Environment:
#   FUZZTIME          how long each target runs (go test -fuzztime; default 30s,
#                     "1000x" means 1000 executions)
#   FUZZMINIMIZETIME  how long to minimize each new or failing input (default 10s;
#                     go's own 60s can eat a whole short run on a slow input)
#   FUZZPARALLEL      fuzzing workers per target (default: GOMAXPROCS)
#
# A failing input is written by go test to <package>/testdata/fuzz/FuzzX/; once
# the bug is fixed, commit it there so plain `go test` keeps it as a regression
# case. The seed corpora (f.Add and testdata/fuzz) already run in `go test`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZTIME="${FUZZTIME:-30s}"
FUZZMINIMIZETIME="${FUZZMINIMIZETIME:-10s}"
patterns=("$@")
if [ ${#patterns[@]} -eq 0 ]; then
	patterns=(./...)
fi
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

# Packages whose test files declare a fuzz target; go test -list then names
# the targets that really build (build tags, test packages).
targets=()
while IFS=$'\t' read -r import dir; do
	if ! grep -qsE '^func Fuzz[A-Za-z0-9_]*\(' "$dir"/*_test.go; then
		continue
	fi
	if ! listed="$(go test -list '^Fuzz' "$import")"; then
		echo "fuzz-go: cannot list the fuzz targets of $import" >&2
		exit 1
	fi
	while read -r name; do
		case "$name" in
		Fuzz*) targets+=("$import $name") ;;
		esac
	done <<<"$listed"
done < <(go list -f '{{.ImportPath}}{{"\t"}}{{.Dir}}' "${patterns[@]}")

if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz-go: no fuzz targets in ${patterns[*]}" >&2
	exit 1
fi
echo "fuzz-go: ${#targets[@]} targets, ${FUZZTIME} each"

failed=()
for target in "${targets[@]}"; do
	read -r import name <<<"$target"
	echo "=== fuzz $name ($import)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" \
		-fuzzminimizetime "$FUZZMINIMIZETIME" ${parallel[@]+"${parallel[@]}"} "$import"; then
		failed+=("$name ($import)")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz-go: ${#failed[@]} of ${#targets[@]} targets failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz-go: all ${#targets[@]} targets passed"
