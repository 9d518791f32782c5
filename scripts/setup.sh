#!/usr/bin/env bash
# Set-up for a fresh Debian 12 machine (run as root): installs the Debian
# packages the build and the tests need, then configures and builds.
# Idempotent: packages already present are not reinstalled, and an
# existing build is only brought up to date.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

packages=(
	build-essential autoconf automake libtool pkg-config
	libcmocka-dev           # unit tests
	libelf-dev libbpf-dev   # kernel build-ids and BTF (common/kernel.c, btf.c)
	clang libclang-rt-14-dev # fuzz target (libFuzzer) and its replay
	systemtap-doc           # the example scripts pass 1 is checked against
	libnss3-dev libnspr4-dev libnss3-tools # TLS, certificates, signatures (common/nss.h)
	libarchive-dev zip unzip # request and response archives (common/zip.h)
	openssl                 # tests check signatures and certificates with it
	systemtap-client systemtap-server # interoperability tests against SystemTap 4.8
	iproute2                # loopback in the network namespaces of those tests
	systemd groff-base      # tests/service: systemd-analyze, systemd-sysusers, systemd-tmpfiles; man pages
	debhelper fakeroot debootstrap # tests/packaging: dpkg-buildpackage of debian/, a fresh root
	libmicrohttpd-dev libjson-c-dev libgnutls28-dev # the server's HTTP/JSON API (server/http.c)
	python3-cryptography    # tests/http: a certificate that expires within the test
	chromium curl           # tests/http: the status page in headless Chromium, the API with curl
	libavahi-client-dev avahi-daemon avahi-utils dbus # LAN discovery (server/avahi.c, client/discover.c) and tests/avahi
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi > /dev/null
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
	./configure --enable-werror > /dev/null
fi
make -j"$(nproc)" > /dev/null
echo "setup: built $top/stap"
