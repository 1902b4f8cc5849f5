#!/usr/bin/env bash
# The test suite: starts the database servers the tests need, builds the binary and every
# plugin, and runs every test. A test whose server is missing fails (GALLRA_REQUIRE_SERVERS).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-services.sh
export GALLRA_REQUIRE_SERVERS=1
cargo build --workspace --lib --bins
cargo test --workspace "$@"
