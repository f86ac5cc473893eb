#!/usr/bin/env bash
# The CPU of each test file, run alone by tap (its runner included), two at a time: wall s,
# user s, system s (with the processes it starts) and exit status, costliest first. docs/TESTING.md
# ("Where the time goes") has its figures. Usage: scripts/test-cpu.sh [FILE...] (default: the group
# files, test/groups/*.test.ts, which are what `npm test` runs; any test file can be named).
set -uo pipefail
cd "$(dirname "$0")/.."
node scripts/build-if-stale.mjs >/dev/null || exit 1
out=$(mktemp)
files=("$@")
[ ${#files[@]} -eq 0 ] && mapfile -t files < <(find test/groups -name '*.test.ts' | sort)
printf '%s\n' "${files[@]}" | xargs -P2 -I{} bash -c '
  t=$(mktemp)
  /usr/bin/time -f "%e %U %S" -o "$t" node_modules/.bin/tap -R silent "$1" >/dev/null 2>&1
  status=$?
  echo "$(tail -1 "$t") $status $1" >>"$0"; rm -f "$t"' "$out" {}
printf '%8s %8s %6s %s\n' cpu-s wall-s exit file
awk '{ printf "%8.1f %8.1f %6s %s\n", $2 + $3, $1, $4, $5; cpu += $2 + $3 } END { printf "%8.1f %8s %6s %s\n", cpu, "", "", "(sum)" }' "$out" | sort -rn
rm -f "$out"
