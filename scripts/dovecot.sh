#!/usr/bin/env bash
# Makes sure the Dovecot the imap connector's tests use is running: a PRIVATE instance (its own
# config, runtime and mail directories under $GALLRA_DOVECOT_DIR, default /tmp/gallra-dovecot;
# the system's /etc/dovecot instance is never touched) on 127.0.0.1 with
#   - port 10143: plain IMAP, STARTTLS offered;
#   - port 10993: IMAP over implicit TLS;
#   - any user name with the password `test`, each user with its own maildir.
# The TLS certificate is for localhost and 127.0.0.1, signed by a throwaway CA whose
# certificate is $GALLRA_DOVECOT_DIR/tls/ca.pem (the tests trust it through `ca_file`).
# Installs Debian's dovecot-imapd if it is missing. Idempotent: if port 10143 already
# answers with an IMAP greeting, it does nothing. Written for Dovecot 2.3 (Debian 12).
set -euo pipefail

dir=${GALLRA_DOVECOT_DIR:-/tmp/gallra-dovecot}
port=10143
tls_port=10993

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# True when something on the port greets like an IMAP server.
imap_up() {
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 4 <&3" 2>/dev/null \
    | grep -q '^\* OK'
}

# Logs in as a probe user and logs out: proves the password database and mail storage work.
imap_login_works() {
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port
    printf 'a LOGIN probe test\r\nb SELECT INBOX\r\nc LOGOUT\r\n' >&3
    cat <&3" 2>/dev/null | grep -q '^b OK'
}

if imap_up; then
  echo "dovecot: already answering on 127.0.0.1:$port"
  exit 0
fi

if ! command -v dovecot >/dev/null || [ ! -x /usr/lib/dovecot/imap ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq dovecot-imapd >/dev/null
fi
version=$(dovecot --version)
case $version in
  2.3.*) ;;
  *) echo "dovecot: version $version found; this script writes Dovecot 2.3 configuration" >&2; exit 1 ;;
esac

# The users the package creates: login processes run as dovenull, internal ones and the
# mail storage as dovecot. Dovecot refuses root for both.
login_user=dovenull
mail_user=dovecot
id "$login_user" >/dev/null && id "$mail_user" >/dev/null

as_root mkdir -p "$dir/mail" "$dir/tls"
as_root chown "$mail_user:$mail_user" "$dir/mail"
as_root chmod 0755 "$dir"

ssl=no
if command -v openssl >/dev/null; then
  if [ ! -s "$dir/tls/server.pem" ]; then
    (
      cd "$dir/tls"
      openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=gallra test CA" \
        -keyout ca.key -out ca.pem 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout server.key -out server.csr 2>/dev/null
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile ext.cnf -out server.pem 2>/dev/null
      chmod 0600 ca.key server.key
      chmod 0644 ca.pem server.pem
    )
  fi
  ssl=yes
fi

tls_config="ssl = no"
tls_listener="inet_listener imaps {
    port = 0
  }"
if [ "$ssl" = yes ]; then
  tls_config="ssl = yes
ssl_cert = <$dir/tls/server.pem
ssl_key = <$dir/tls/server.key"
  tls_listener="inet_listener imaps {
    address = 127.0.0.1
    port = $tls_port
    ssl = yes
  }"
fi

as_root tee "$dir/dovecot.conf" >/dev/null <<EOF
# Private Dovecot for gallra's tests (written by scripts/dovecot.sh). Not for production.
instance_name = gallra-dovecot
base_dir = $dir/run
state_dir = $dir/state
listen = 127.0.0.1
protocols = imap
log_path = $dir/dovecot.log
default_login_user = $login_user
default_internal_user = $mail_user
first_valid_uid = 1
last_valid_uid = 0

$tls_config
disable_plaintext_auth = no
auth_mechanisms = plain login

# Any user name, password "test"; one maildir per user.
passdb {
  driver = static
  args = password=test
}
userdb {
  driver = static
  args = uid=$mail_user gid=$mail_user home=$dir/mail/%u
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  $tls_listener
}
EOF

as_root dovecot -c "$dir/dovecot.conf"
for _ in $(seq 30); do imap_up && break; sleep 0.5; done
imap_up || { echo "dovecot: not answering on 127.0.0.1:$port (see $dir/dovecot.log)" >&2; exit 1; }
imap_login_works || { echo "dovecot: LOGIN failed (see $dir/dovecot.log)" >&2; exit 1; }
echo "dovecot: up on 127.0.0.1:$port (STARTTLS: $ssl, implicit TLS on $tls_port: $ssl)"
