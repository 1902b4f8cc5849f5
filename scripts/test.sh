#!/usr/bin/env bash
# The test suite: starts the database and IMAP servers the tests need, builds the binary and every
# plugin, and runs every test. A test whose server is missing fails (GALLRA_REQUIRE_SERVERS).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-services.sh
scripts/dovecot.sh   # a private Dovecot on 127.0.0.1:10143 for the imap connector's tests
export GALLRA_REQUIRE_SERVERS=1
cargo build --workspace --lib --bins
cargo test --workspace "$@"
