#!/usr/bin/env bash
# compare.sh BASE [RUNS]: exact-match routing, this tree against commit
# BASE, in the same run: the in-memory routing benchmarks of edge
# (BenchmarkRouteEvent/exact, BenchmarkRouteCall/exact), alternating
# between the two builds RUNS times (5), then the median ns/op of each and
# their ratio. BASE's tree gets this tree's benchmark file (it may predate
# it) with what it needs.
set -euo pipefail
base=${1:?usage: compare.sh BASE [RUNS]}
runs=${2:-5}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add -q --detach "$work/base" "$base"
cp "$root/edge/route_bench_test.go" "$work/base/edge/"
grep -qs 'matchPrefix *=' "$work/base/edge/"*.go ||
  printf 'package edge\n\nconst (\n\tmatchPrefix   = "prefix"\n\tmatchWildcard = "wildcard"\n)\n' >"$work/base/edge/compare_shim_test.go"
bench='^BenchmarkRoute(Event|Call)$/^exact$'
(cd "$work/base" && go test -c -o "$work/base.test" ./edge)
(cd "$root" && go test -c -o "$work/head.test" ./edge)
for i in $(seq "$runs"); do
  for which in base head; do
    (cd "$root/edge" && "$work/$which.test" -test.run='^$' -test.bench="$bench" -test.benchtime=200000x) |
      awk -v w="$which" '/^Benchmark/ {print w, $1, $3}' >>"$work/results"
  done
done
echo "exact-match routing, $runs alternating runs each, median ns/op (base $base):"
awk '{k=$2; v[$1" "k]=v[$1" "k]" "$3; keys[k]=1}
  function median(s,   a, n, i, j, t) { n=split(s, a, " "); for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (a[j]<a[i]) {t=a[i];a[i]=a[j];a[j]=t}; return a[int((n+1)/2)] }
  END { for (k in keys) { b=median(v["base "k]); h=median(v["head "k]); printf "  %-40s base %8.1f  head %8.1f  head/base %.2f\n", k, b, h, h/b } }' "$work/results"
