#!/usr/bin/env bash
# The daemon's modules depend on each other one way only, in the layers below: a module may
# name (`crate::X`) only modules of a lower layer. Cargo keeps the crates one way (gallra-core
# and gallra-store cannot reach the daemon); this keeps the modules inside the daemon so, and
# fails CI at the first reference that would close a circle (requests ↔ runner, store ↔
# requests, plugins ↔ metrics, the CLI's subcommands ↔ their dispatcher were such circles).
# Comment lines are not counted. Fails naming the file, the line and the layer rule broken.
set -euo pipefail
cd "$(dirname "$0")/../daemon/src"

layers=(
  "notify register statelock statestore tombstones audit version" # 0: leaves
  "metrics"                                    # 1
  "plugins"                                    # 2
  "identity restore context"                   # 3
  "requests"                                   # 4
  "runner"                                     # 5
  "api"                                        # 6
  "serve"                                      # 7
  "cli"                                        # 8
)
declare -A layer
for i in "${!layers[@]}"; do
  for m in ${layers[$i]}; do layer[$m]=$i; done
done
names=$(printf '%s|' "${!layer[@]}")
names=${names%|}

bad=0
for m in "${!layer[@]}"; do
  files=$(ls -d "$m" "$m.rs" 2>/dev/null || true)
  [ -n "$files" ] || { echo "check-module-deps: no module $m in daemon/src (update the layers)" >&2; exit 1; }
  while IFS=: read -r file line text; do
    for used in $(grep -oE "crate::($names)\b" <<<"$text" | sed 's/crate:://' | sort -u); do
      [ "$used" = "$m" ] && continue
      if [ "${layer[$used]}" -ge "${layer[$m]}" ]; then
        echo "check-module-deps: daemon/src/$file:$line: $m (layer ${layer[$m]}) uses $used (layer ${layer[$used]}); a module may use only lower layers (scripts/check-module-deps.sh)" >&2
        bad=1
      fi
    done
  done < <(grep -rnHE "crate::($names)\b" $files | grep -vE "^[^:]+:[0-9]+:\s*//" || true)
done
for f in *.rs */; do
  m=${f%.rs}; m=${m%/}
  case "$m" in lib | main) continue ;; esac
  [ -n "${layer[$m]:-}" ] || { echo "check-module-deps: module $m is in no layer (add it to scripts/check-module-deps.sh)" >&2; bad=1; }
done
# Inside the CLI: only its entry (mod.rs) dispatches through commands.rs; the subcommands
# share what they need through setup.rs, never back through the dispatcher.
while IFS=: read -r file line _; do
  echo "check-module-deps: daemon/src/$file:$line: a subcommand uses the dispatcher (cli/commands.rs); put what it needs in cli/setup.rs" >&2
  bad=1
done < <(grep -rnHE "commands::" cli --include=*.rs | grep -vE "^cli/mod.rs:" | grep -vE "^[^:]+:[0-9]+:\s*//" || true)
[ "$bad" = 0 ] && echo "check-module-deps: the daemon's ${#layer[@]} modules depend one way, in ${#layers[@]} layers"
exit "$bad"
