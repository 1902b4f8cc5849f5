#!/usr/bin/env bash
# gallra-core holds the pure rules (config, policy decisions, durations, the clock, schedules,
# templates): it must never reach a database, the network or an async runtime. Fails if any
# crate that does I/O of that kind enters its dependency tree (normal and build edges).
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='tokio|tokio-postgres|postgres|rusqlite|libsqlite3-sys|mysql|mysql_common|sqlx|reqwest|hyper|axum|lettre|libloading|mio'
tree=$(cargo tree -p gallra-core -e normal,build --prefix none --format '{p}' | awk '{print $1}' | sort -u)
found=$(grep -Ex "$forbidden" <<<"$tree" || true)
if [ -n "$found" ]; then
  echo "check-core-deps: gallra-core must stay free of I/O crates, but depends on:" >&2
  echo "$found" | sed 's/^/  /' >&2
  echo "  (run: cargo tree -p gallra-core -i CRATE  to see which dependency brings it)" >&2
  exit 1
fi
echo "check-core-deps: gallra-core depends on no I/O crate ($(wc -l <<<"$tree") crates checked)"
