#!/usr/bin/env bash
# Interleaved A/B timing of generated pipeline binaries on one input file:
#   tests/bench/ab.sh ROUNDS INPUT BINARY...
# runs each binary once per round, in turn (A, B, A, B, …), so that all of them see the same
# machine: this VM's speed drifts by tens of percent within minutes, so timings taken one after
# the other are not comparable. Prints every run's wall and user seconds per binary.
# The binaries are release builds of `kin build --target rust` projects whose producer is `web`
# (as in tests/bench/*.yaml); each run gets a fresh data directory.
set -euo pipefail
rounds=$1
input=$2
shift 2
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
declare -A wall user
for _ in $(seq "$rounds"); do
  for binary in "$@"; do
    rm -rf "$data/run"
    /usr/bin/time -f "%e %U" -o "$data/time" "$binary" --data-dir "$data/run" \
      --input "web=$input" > /dev/null
    read -r w u < "$data/time"
    wall[$binary]="${wall[$binary]:-} $w"
    user[$binary]="${user[$binary]:-} $u"
  done
done
for binary in "$@"; do
  echo "$binary wall:${wall[$binary]} | user:${user[$binary]}"
done
