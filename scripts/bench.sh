#!/usr/bin/env bash
# The benchmarks (BENCHMARKS.md): builds gallra and the plugins they load in release, runs
# the criterion benchmark of the plugin boundary, then the harness, which generates its own
# data, prints every figure with its target and its ratio to the floor, and rewrites its
# sections of BENCHMARKS.md.
#
#   scripts/bench.sh                      everything, 5 runs per figure (about 30 minutes)
#   scripts/bench.sh --only plan,boundary one or more workloads
#   scripts/bench.sh --only several --runs 3   1, 2, 3 daemons on one store, and failover
#   scripts/bench.sh --quick              reduced sizes, one run, nothing written
#
# Other options go to the harness: cargo run --release -p gallra-bench -- --help
# PostgreSQL must be running (scripts/test-services.sh starts it) for purge-postgres,
# requests and several.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p gallra -p gallra-plugin-sql -p gallra-plugin-mailchimp \
  -p gallra-plugin-zendesk -p gallra-plugin-whmcs -p gallra-plugin-http -p gallra-bench

wants() { # whether the arguments select workload $1
  local only=""
  local args=("$@")
  for ((i = 1; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
      --only) only="${args[$((i + 1))]:-}" ;;
      --only=*) only="${args[$i]#--only=}" ;;
      --quick) [ "$1" = boundary ] && return 1 ;; # quick mode times the ABI itself
    esac
  done
  [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]
}
if wants boundary "$@"; then
  cargo bench -p gallra-bench --bench boundary
fi

export GALLRA_BENCH_COMMAND="scripts/bench.sh $*"
exec cargo run --release -q -p gallra-bench -- "$@"
