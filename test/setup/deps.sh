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
have certbot || need+=(certbot)
have lego || need+=(lego)
have mmdebstrap || need+=(mmdebstrap)
have dpkg-deb || need+=(dpkg)
have systemd-analyze || need+=(systemd)
have systemd-nspawn || need+=(systemd-container)
have dpkg-shlibdeps || need+=(dpkg-dev)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "test/setup/deps.sh: missing Debian packages: ${need[*]} (run as root, or apt-get install them)" >&2
  exit 1
fi
echo "test/setup/deps.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
