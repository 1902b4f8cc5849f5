#!/usr/bin/env bash
# Checks the shipped Prometheus alert rules: `promtool check rules` (syntax, PromQL,
# templates) and `promtool test rules` (every rule's unit tests, firing and not firing).
# Installs nothing: promtool comes with Debian's `prometheus` package (CI installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

rules=config/alerts/gallra.rules.yml
tests=config/alerts/gallra.rules.test.yml

if ! command -v promtool >/dev/null 2>&1; then
    echo "check-alerts: promtool not found; install it (Debian/Ubuntu: apt-get install prometheus)" >&2
    exit 2
fi

echo "== $(promtool --version 2>&1 | head -n1)"
promtool check rules "$rules"
promtool test rules "$tests"
echo "check-alerts: rules and their unit tests pass"
