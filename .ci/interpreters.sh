# Interpreters beyond what pyenv has here, built once into a cache outside the checkout.
#
# Sourced by .ci/run. pyenv has 3.11.7, 3.12.1 and 3.13.0, and python.org can't be
# reached. Debian's unstable suite (sid) has binary packages of python3.13 (newer than
# pyenv's), python3.14 and python3.15, built against a newer C library than this host
# has, so they live in a sid root made with debootstrap and run under chroot. A
# free-threaded interpreter comes from the newest CPython *source* package Debian
# serves for 3.15, 3.14 or 3.13 (today only python3.13's 3.13.15 downloads: the
# 3.14 and 3.15 sources answer 404), configured with --disable-gil and built in that
# root.
#
# Everything lives in $CI_CACHE/debian-sid-v$ROOT_RECIPE: made in a scratch folder
# and renamed only when complete, so an interrupted build is never reused. Delete
# it to pick up newer patch releases. Mounts are made in a private mount namespace
# (unshare), so they vanish with the command and can never outlive it.
#
# Needs root (debootstrap, chroot, unshare), as CI here runs. The functions called
# under "||" spell out each "|| return 1": errexit does not apply there.

CI_CACHE=${OSV_IDIOMS_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/osv-idioms-ci}
ROOT_RECIPE=1
SID_ROOT="$CI_CACHE/debian-sid-v$ROOT_RECIPE"
MIRROR=http://deb.debian.org/debian
# The snapshot of sid served here carries an expired Release file.
APT_IN_ROOT=(apt-get -q -y -o Acquire::Check-Valid-Until=false)
ROOT_PACKAGES=(
    python3.13 python3.13-venv python3.14 python3.14-venv python3.15 python3.15-venv
    nodejs ca-certificates xz-utils dpkg-dev
    gcc make libc6-dev libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev
    libsqlite3-dev libreadline-dev libgdbm-dev libexpat1-dev libmpdec-dev
)
# The free-threaded build: the first of these source packages that downloads.
FREE_THREADED_SOURCES=(python3.15 python3.14 python3.13)

# The host's view of the network, copied in at every use: the CA bundle carries the
# proxy's certificate, which the root's own ca-certificates package does not.
_refresh_root_network() {
    local root=$1
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
}

# Run a command inside a root, with the checkout at /osv-idioms and /proc and /dev
# mounted, in a clean environment.
in_root() {
    local root=$1
    shift
    _refresh_root_network "$root"
    mkdir -p "$root/osv-idioms"
    unshare --mount --propagation private /bin/sh -c '
        root=$1; checkout=$2; shift 2
        mount --bind "$checkout" "$root/osv-idioms" &&
        mount -t proc proc "$root/proc" &&
        mount --rbind /dev "$root/dev" &&
        exec chroot "$root" /usr/bin/env -i \
            HOME=/root LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin \
            SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
            PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
            PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
            PYTHONDONTWRITEBYTECODE=1 CI="${CI:-}" "$@"
    ' in_root "$root" "$ROOT" "$@"
}

_make_sid_root() {
    local partial="$SID_ROOT.partial.$$"
    step "building the Debian sid root in $SID_ROOT (once per machine)"
    command -v debootstrap >/dev/null 2>&1 || {
        apt-get -q update >/dev/null && apt-get -q -y install debootstrap >/dev/null
    }
    debootstrap --variant=minbase sid "$partial" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap.log"; return 1; }
    cat >"$partial/etc/apt/sources.list" <<EOF
deb $MIRROR sid main
deb-src $MIRROR sid main
deb-src $MIRROR forky main
deb-src $MIRROR trixie main
EOF
    in_root "$partial" "${APT_IN_ROOT[@]}" update >/dev/null || return 1
    in_root "$partial" "${APT_IN_ROOT[@]}" install --no-install-recommends "${ROOT_PACKAGES[@]}" \
        >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log"; return 1; }
    _build_free_threaded "$partial" || return 1
    mv "$partial" "$SID_ROOT"
}

# Fetch the newest CPython source Debian serves for the versions above, build it
# with the GIL disabled into /opt/python-VERSIONt, and record where it is.
_build_free_threaded() {
    local root=$1
    step "building a free-threaded CPython from Debian's sources (once per machine)"
    in_root "$root" /bin/bash -c '
        set -euo pipefail
        mkdir -p /src && cd /src
        for package in "$@"; do
            for version in $(apt-cache showsrc "$package" 2>/dev/null |
                             sed -n "s/^Version: //p" | sort -V -r -u); do
                if apt-get -q -o Acquire::Check-Valid-Until=false source --download-only \
                        "$package=$version" >/dev/null 2>&1; then
                    upstream=${version%%-*}
                    upstream=${upstream#*:}
                    tar xf "${package}_${upstream}.orig.tar."*
                    echo "$upstream" >/src/free-threaded-version
                    exit 0
                fi
            done
        done
        echo "no CPython source package could be downloaded" >&2
        exit 1
    ' fetch "${FREE_THREADED_SOURCES[@]}" || return 1
    local version
    version=$(cat "$root/src/free-threaded-version") || return 1
    in_root "$root" /bin/bash -c '
        set -euo pipefail
        cd /src/Python-$1
        ./configure --disable-gil --prefix=/opt/python-$1t --with-ensurepip=install >/src/configure.log 2>&1
        make -j"$(nproc)" >/src/make.log 2>&1
        make install >/src/install.log 2>&1
    ' build "$version" || { tail -30 "$root/src/make.log" 2>/dev/null; return 1; }
    echo "/opt/python-${version}t/bin/python3" >"$root/opt/free-threaded-python" || return 1
    rm -rf "$root/src"
}

ensure_sid_root() {
    if [ -d "$SID_ROOT" ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "building the interpreters for 3.13 to 3.15 and free-threaded needs root" >&2
        return 1
    fi
    mkdir -p "$CI_CACHE"
    # What an interrupted run left: never mounted outside its own namespace, so safe to delete.
    rm -rf "$SID_ROOT".partial.*
    _make_sid_root || { rm -rf "$SID_ROOT".partial.*; return 1; }
}

# The interpreter in the root for a version (3.13, 3.14, 3.15, or "free-threaded").
root_python() {
    case $1 in
        free-threaded) cat "$SID_ROOT/opt/free-threaded-python" ;;
        *) echo "/usr/bin/python$1" ;;
    esac
}
