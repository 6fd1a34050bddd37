#!/usr/bin/env bash
# Installs the Debian packages the test suite drives (real clients and a real CA), when missing.
# Run by `npm test` before the suite; a no-op when everything is there.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have pebble || need+=(pebble)
have ssh || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
have sshpass || need+=(sshpass)
have dbclient || need+=(dropbear-bin)
have pscp || need+=(putty-tools)
have ssh-audit || need+=(ssh-audit)
have tmux || need+=(tmux)
have openssl || need+=(openssl)
/usr/bin/python3 -c 'import netmiko' >/dev/null 2>&1 || need+=(python3-netmiko)
# /metrics: the Prometheus project's own text parser reads what the endpoint serves.
/usr/bin/python3 -c 'import prometheus_client.parser' >/dev/null 2>&1 || need+=(python3-prometheus-client)
have certbot || need+=(certbot)
have lego || need+=(lego)
have mmdebstrap || need+=(mmdebstrap)
have dpkg-deb || need+=(dpkg)
have systemd-analyze || need+=(systemd)
have systemd-nspawn || need+=(systemd-container)
have dpkg-shlibdeps || need+=(dpkg-dev)
# dns-01: BIND as the RFC 2136 server (named, tsig-keygen), named-checkconf, and dig/nsupdate as oracles.
[ -x /usr/sbin/named ] && [ -x /usr/sbin/tsig-keygen ] || need+=(bind9)
have named-checkconf || need+=(bind9-utils)
have dig && have nsupdate || need+=(bind9-dnsutils)
# Clustering: real etcd members (etcd-server brings `etcd`; etcd-client brings `etcdctl`, used as an oracle).
have etcd || need+=(etcd-server)
have etcdctl || need+=(etcd-client)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "test/setup/deps.sh: missing Debian packages: ${need[*]} (run as root, or apt-get install them)" >&2
  exit 1
fi
echo "test/setup/deps.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another program may hold the package lock (unattended upgrades, a parallel install): wait for it
# (dpkg's lock via DPkg::Lock::Timeout; the lists lock of `update` by retrying), up to 15 minutes.
apt_wait() {
  local try
  for try in $(seq 1 90); do
    if apt-get -o DPkg::Lock::Timeout=600 "$@"; then return 0; fi
    if ! fuser /var/lib/apt/lists/lock /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1; then
      [ "$try" -ge 3 ] && return 1
    fi
    echo "test/setup/deps.sh: the package lock is held; waiting" >&2
    sleep 10
  done
  return 1
}
apt_wait update -qq
apt_wait install -y -qq --no-install-recommends "${need[@]}" >/dev/null
