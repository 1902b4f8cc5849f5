#!/usr/bin/env bash
# Checks gallra's systemd integration (systemd/) without a running systemd, so it works in
# a container and in CI:
#   1. `systemd-analyze verify` finds nothing to complain about in the unit;
#   2. `systemd-analyze security --offline=true` rates it $MAX_EXPOSURE or lower;
#   3. the sysusers.d and tmpfiles.d snippets apply cleanly to a scratch root and agree
#      with the unit (its user, its directory modes);
#   4. if strace and a built gallra are at hand: `gallra demo` and the daemon, run under
#      strace, make only the system calls the unit's SystemCallFilter= allows, open only the
#      socket families RestrictAddressFamilies= allows, and never ask for memory that
#      MemoryDenyWriteExecute= would refuse. A dependency that starts doing so would get
#      the service killed or failing in production; here it fails the check instead.
# Any warning from a systemd tool counts as a failure: they report unknown keys and bad
# values as warnings and exit 0. Needs systemd-analyze, systemd-sysusers and
# systemd-tmpfiles (Debian: package systemd). Step 3 applies the snippets only as root.
# GALLRA_BIN=path chooses the binary for step 4 (default target/release, then target/debug).
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXPOSURE=1.5
UNIT=systemd/gallra.service
SYSUSERS=systemd/gallra.sysusers.conf
TMPFILES=systemd/gallra.tmpfiles.conf

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
skip() { echo "SKIPPED: $*" >&2; }

for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (install systemd)" >&2; exit 1; }
done
echo "using $(systemd-analyze --version | head -n 1)"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The unit's value for KEY (the last assignment wins, as in systemd).
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }

# Runs "$@", fails with LABEL if it exits non-zero or prints anything on stderr but
# lines matching $QUIET_OK (progress messages such as sysusers' "Creating user ...").
QUIET_OK='^$'
run_quiet() {
    local label=$1; shift
    local err=$scratch/stderr
    if ! "$@" >"$scratch/stdout" 2>"$err"; then
        fail "$label: $* exited non-zero"; cat "$err" "$scratch/stdout" >&2; return 1
    fi
    if grep -vE "$QUIET_OK" "$err" >"$err.left"; then
        fail "$label: warnings"; cat "$err.left" >&2; return 1
    fi
}

# --- 1. verify ----------------------------------------------------------------------------
# verify insists that every Exec*= binary exists. Where gallra is not installed, check a copy
# of the unit whose Exec*= lines name a binary that does exist; everything else is as shipped.
exec_bin=$(unit_value ExecStart | awk '{print $1}')
verify_unit=$UNIT
if [ ! -x "$exec_bin" ]; then
    stand_in=
    for candidate in target/release/gallra target/debug/gallra /bin/true; do
        if [ -x "$candidate" ]; then stand_in=$(realpath "$candidate"); break; fi
    done
    mkdir -p "$scratch/verify"
    verify_unit=$scratch/verify/gallra.service
    sed "s#^\(Exec[A-Za-z]*\)=$exec_bin #\1=$stand_in #" "$UNIT" >"$verify_unit"
    echo "note: $exec_bin is not installed here; verify checks ExecStart= against $stand_in"
fi
if run_quiet verify systemd-analyze verify --man=no --recursive-errors=no "$verify_unit"; then
    ok "systemd-analyze verify: no complaints"
fi

# --- 1b. reload and limits ----------------------------------------------------------------
# `systemctl reload` must fail on a config the daemon would refuse: the first ExecReload= runs
# `gallra check`. And the descriptor limit leaves room beyond systemd's default 1024.
first_reload=$(sed -n 's/^ExecReload=//p' "$UNIT" | head -n 1)
case "$first_reload" in
    *"gallra check"*) ok "ExecReload= checks the config before SIGHUP" ;;
    *) fail "the first ExecReload= must run \`gallra check\` (found: $first_reload)" ;;
esac
nofile=$(unit_value LimitNOFILE)
if [ "${nofile:-0}" -ge 8192 ] 2>/dev/null; then ok "LimitNOFILE=$nofile"; else fail "LimitNOFILE must be at least 8192 (found: ${nofile:-unset})"; fi

# --- 2. security exposure -----------------------------------------------------------------
security_out=$scratch/security.txt
if systemd-analyze security --offline=true --no-pager "$UNIT" >"$security_out" 2>"$scratch/security.err"; then
    if [ -s "$scratch/security.err" ]; then
        fail "systemd-analyze security: warnings"; cat "$scratch/security.err" >&2
    fi
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\).*/\1/p' "$security_out")
    if [ -z "$score" ]; then
        fail "could not find the overall exposure level in the output of systemd-analyze security"
        cat "$security_out" >&2
    else
        grep '✗' "$security_out" | sed 's/^/    /' || true
        echo "exposure score: $score (allowed: $MAX_EXPOSURE or lower)"
        if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 > m + 0) }'; then
            fail "exposure $score is above $MAX_EXPOSURE"
        else
            ok "exposure $score <= $MAX_EXPOSURE"
        fi
    fi
else
    fail "systemd-analyze security failed"; cat "$scratch/security.err" >&2
fi

# --- 3. sysusers.d and tmpfiles.d ---------------------------------------------------------
user=$(unit_value User)
if ! awk -v u="$user" '$1 == "u" && $2 == u { found = 1 } END { exit !found }' "$SYSUSERS"; then
    fail "$SYSUSERS does not create the unit's User=$user"
fi
# The directories the unit and tmpfiles.d both manage must agree, or each would undo the
# other at every boot and service start.
check_dir_mode() { # path unit-key
    local want have
    want=$(unit_value "$2"); want=${want:-0755}
    have=$(awk -v p="$1" '$1 == "d" && $2 == p { print $3 }' "$TMPFILES")
    if [ -z "$have" ]; then
        fail "$TMPFILES has no d line for $1"
    elif [ "$((8#$have))" != "$((8#$want))" ]; then
        fail "$TMPFILES makes $1 mode $have, but the unit's $2 is $want"
    elif ! awk -v p="$1" -v u="$user" '$1 == "d" && $2 == p && $4 == u && $5 == u { f = 1 } END { exit !f }' "$TMPFILES"; then
        fail "$TMPFILES must make $1 owned by $user:$user, as the unit does"
    fi
}
check_dir_mode "/var/lib/$(unit_value StateDirectory)" StateDirectoryMode
check_dir_mode "/var/log/$(unit_value LogsDirectory)" LogsDirectoryMode

QUIET_OK="^(Creating (user|group) '[^']*' .*\\.|Would write /etc/[a-z]*…)$"
if [ "$(id -u)" = 0 ]; then
    root=$scratch/root
    mkdir -p "$root/etc"
    if run_quiet sysusers systemd-sysusers --root="$root" "$PWD/$SYSUSERS"; then
        if entry=$(grep "^$user:" "$root/etc/passwd"); then
            ok "sysusers creates $entry"
        else
            fail "systemd-sysusers did not create $user"
        fi
    fi
    # Resolves the user from the scratch root's passwd, which the step above wrote.
    if run_quiet tmpfiles systemd-tmpfiles --root="$root" --create "$PWD/$TMPFILES"; then
        uid_of() { if [ "$1" = root ]; then echo 0; else awk -F: -v u="$1" '$1 == u { print $3 }' "$root/etc/passwd"; fi; }
        before=$failures
        while read -r type path mode owner _; do
            [ "$type" = d ] || continue
            have=$(stat -c '%a %u' "$root$path" 2>/dev/null || echo missing)
            want="$(printf '%o' "$((8#$mode))") $(uid_of "$owner")"
            [ "$have" = "$want" ] || fail "tmpfiles made $path '$have' (mode uid), expected '$want'"
        done < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$TMPFILES")
        [ "$failures" = "$before" ] &&
            ok "tmpfiles creates $(grep -c '^d' "$TMPFILES") directories with the modes and owners asked for"
    fi
else
    skip "applying the sysusers/tmpfiles snippets to a scratch root needs root (chown); checked with --dry-run and a parse instead"
    run_quiet sysusers systemd-sysusers --dry-run --root="$scratch" "$PWD/$SYSUSERS" && ok "sysusers --dry-run"
    bad=$(awk '!/^[[:space:]]*(#|$)/ && ($1 !~ /^[fwdDevqQpLcbCxXrRzZtThHaAm]\+?[-=~^!]*$/ || $2 !~ /^\// || ($3 != "-" && $3 !~ /^~?0?[0-7]{3,4}$/)) { print FILENAME ":" FNR ": " $0 }' "$TMPFILES")
    if [ -n "$bad" ]; then fail "tmpfiles lines that do not parse:"; echo "$bad" >&2; else ok "tmpfiles lines parse"; fi
fi

# --- 4. the real binary under strace ------------------------------------------------------
# The sets the unit allows, resolved through systemd's own group definitions.
resolve_syscalls() { # @group or name, recursively expanded
    case $1 in
        @*) systemd-analyze syscall-filter "$1" | awk 'NR > 1 && !/^[[:space:]]*#/ && NF { print $1 }' |
                while read -r s; do resolve_syscalls "$s"; done ;;
        *) echo "$1" ;;
    esac
}
allowed_syscalls() {
    local allow=() deny=() v
    while read -r v; do
        case $v in
            '~'*) read -ra words <<<"${v#\~}"; deny+=("${words[@]}") ;;
            *) read -ra words <<<"$v"; allow+=("${words[@]}") ;;
        esac
    done < <(sed -n 's/^SystemCallFilter=//p' "$UNIT")
    comm -23 <(for g in "${allow[@]}"; do resolve_syscalls "$g"; done | sort -u) \
        <(for g in "${deny[@]}"; do resolve_syscalls "$g"; done | sort -u)
}

# Syscall names, socket families and memory protections in a strace log, from the first
# execve of gallra on (strace's own set-up before it is not gallra's).
check_trace() { # label trace-file
    local label=$1 trace=$2 used denied families bad_families wx
    awk '/execve\(".*gallra"/ { on = 1 } on' "$trace" >"$trace.gallra"
    used=$(grep -oE '^[0-9]+ +[a-z_0-9]+\(' "$trace.gallra" | sed -E 's/^[0-9]+ +//; s/\($//' | sort -u)
    denied=$(comm -23 <(echo "$used") "$scratch/allowed")
    if [ -n "$denied" ]; then
        fail "$label: system calls outside SystemCallFilter=: $(echo $denied)"
    else
        ok "$label: all $(echo "$used" | wc -l) system calls used are allowed by SystemCallFilter="
    fi
    families=$(grep -oE '^[0-9]+ +socket(pair)?\(AF_[A-Z0-9]+' "$trace.gallra" | grep -oE 'AF_[A-Z0-9]+' | sort -u || true)
    bad_families=$(comm -23 <(echo "$families" | sed '/^$/d') <(unit_value RestrictAddressFamilies | tr ' ' '\n' | sort -u))
    if [ -n "$bad_families" ]; then
        fail "$label: socket families outside RestrictAddressFamilies=: $(echo $bad_families)"
    else
        ok "$label: socket families used: ${families:-none} (allowed: $(unit_value RestrictAddressFamilies))"
    fi
    # systemd's MemoryDenyWriteExecute= refuses mmap with PROT_WRITE and PROT_EXEC together,
    # any mprotect/pkey_mprotect that adds PROT_EXEC, and shmat with SHM_EXEC.
    wx=$(grep -E '^[0-9]+ +(mmap2?\(.*(PROT_WRITE.*PROT_EXEC|PROT_EXEC.*PROT_WRITE)|(pkey_)?mprotect\(.*PROT_EXEC|shmat\(.*SHM_EXEC)' "$trace.gallra" | head -n 3 || true)
    if [ -n "$wx" ]; then
        fail "$label: memory that MemoryDenyWriteExecute= refuses:"; echo "$wx" >&2
    else
        ok "$label: no writable+executable memory (MemoryDenyWriteExecute= is safe)"
    fi
}

bin=${GALLRA_BIN:-}
if [ -z "$bin" ]; then
    for candidate in target/release/gallra target/debug/gallra; do
        if [ -x "$candidate" ]; then bin=$candidate; break; fi
    done
fi
if ! command -v strace >/dev/null; then
    skip "strace is not installed: the system-call and MemoryDenyWriteExecute checks did not run"
elif [ -z "$bin" ] || [ ! -x "$bin" ]; then
    skip "no built gallra (cargo build --workspace): the system-call and MemoryDenyWriteExecute checks did not run"
else
    bin=$(realpath "$bin")
    echo "tracing $bin (plugins beside it)"
    allowed_syscalls >"$scratch/allowed"
    work=$scratch/trace
    mkdir -p "$work"
    as_user=()
    # As root, trace as an unprivileged user, like the service: SQLite, for one, calls
    # fchown (filtered by ~@privileged) only when it runs as root.
    if [ "$(id -u)" = 0 ]; then
        as_user=(-u nobody)
        chmod 0711 "$scratch"
        chown nobody "$work"
    fi
    if strace -f -qq "${as_user[@]}" -o "$work/demo.trace" \
        "$bin" demo --dir "$work/demo" --customers 200 >"$work/demo.out" 2>&1; then
        check_trace "gallra demo" "$work/demo.trace"

        # The daemon: load the plugins, open the store, serve the admin API socket, stop on
        # SIGTERM.
        config=$work/daemon.toml
        cp "$work/demo/gallra.toml" "$config"
        printf '\n[api]\nsocket = "%s"\n' "$work/api.sock" >>"$config"
        [ "$(id -u)" = 0 ] && chown nobody "$config"
        strace -f -qq "${as_user[@]}" -o "$work/daemon.trace" \
            "$bin" run --config "$config" >"$work/daemon.out" 2>&1 &
        strace_pid=$!
        for _ in $(seq 1 100); do [ -S "$work/api.sock" ] && break; sleep 0.2; done
        daemon_pid=$(pgrep -P "$strace_pid" || true)
        if [ -S "$work/api.sock" ] && [ -n "$daemon_pid" ]; then
            kill -TERM "$daemon_pid"
            if wait "$strace_pid"; then
                check_trace "gallra run (daemon)" "$work/daemon.trace"
            else
                fail "the traced daemon did not exit 0 on SIGTERM"; tail -n 20 "$work/daemon.out" >&2
            fi
        else
            fail "the traced daemon did not open its API socket within 20 s"
            tail -n 20 "$work/daemon.out" >&2
            [ -n "$daemon_pid" ] && kill -KILL "$daemon_pid" 2>/dev/null
            wait "$strace_pid" || true
        fi
    else
        fail "gallra demo failed under strace, so its system calls are unknown"
        tail -n 20 "$work/demo.out" >&2
    fi
fi

if [ "$failures" -gt 0 ]; then
    echo "check-systemd: $failures problem(s)" >&2
    exit 1
fi
echo "check-systemd: all checks passed (exposure ${score:-?})"
