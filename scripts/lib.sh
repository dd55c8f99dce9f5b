# Shared by the scripts in this folder. Source it; do not run it.

# The Rust toolchain cannot come from Debian (bookworm's is too old for this workspace), so a
# missing one is reported with what to do rather than installed behind the user's back.
require_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo was not found. Install Rust 1.94 or newer with rustup (https://rustup.rs):" >&2
        echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh" >&2
        exit 2
    fi
}

# Installs Debian packages that are missing (as root, or through sudo), quietly.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A free TCP port on the loopback interface.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a throwaway PostgreSQL cluster (Debian's postgresql) on a free loopback port, in its
# own folder, trusting local connections. Sets PG_TEST_URL; stop it with stop_test_postgres.
start_test_postgres() {
    apt_install postgresql
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$bin/initdb" ] || { echo "PostgreSQL's initdb was not found" >&2; return 1; }
    PG_TEST_DIR=$(mktemp -d /tmp/sealpost-pg.XXXXXX)
    PG_TEST_PORT=$(free_port)
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$PG_TEST_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=trust -E UTF8 >"$PG_TEST_DIR/initdb.log" 2>&1 \
        || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
    "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w \
        -o "-p $PG_TEST_PORT -k $PG_TEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
        || { cat "$PG_TEST_DIR/server.log" >&2; return 1; }
    PG_TEST_BIN=$bin
    PG_TEST_AS=("${as[@]}")
    PG_TEST_URL="postgres://postgres@127.0.0.1:$PG_TEST_PORT/postgres"
    export PG_TEST_URL
}

stop_test_postgres() {
    [ -n "${PG_TEST_DIR:-}" ] || return 0
    "${PG_TEST_AS[@]}" "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DIR"
    PG_TEST_DIR=""
}

# The Python test tools, from PyPI, in a virtual environment under target/ (Debian's Python
# refuses system-wide pip installs): moto's S3 server, an OpenAPI validator, pytest with
# aiosmtpd (the SMTP sink) for the end-to-end tests, Playwright to drive Debian's
# Chromium (its own browser downloads are never used), and Pillow for the fidelity benchmark's
# screenshots (bench/fidelity.py).
PYENV="target/pyenv"
ensure_pyenv() {
    if [ -x "$PYENV/bin/moto_server" ] && [ -x "$PYENV/bin/openapi-spec-validator" ] \
        && [ -x "$PYENV/bin/pytest" ] && [ -x "$PYENV/bin/aiosmtpd" ] && [ -x "$PYENV/bin/playwright" ] \
        && "$PYENV/bin/python" -c 'import PIL' 2>/dev/null; then
        return 0
    fi
    apt_install python3-venv
    python3 -m venv "$PYENV" >/dev/null || return 1
    "$PYENV/bin/pip" install --quiet --disable-pip-version-check \
        'moto[server]==5.*' 'openapi-spec-validator==0.7.*' 'pytest==8.*' 'aiosmtpd==1.4.*' \
        'playwright==1.65.*' 'pillow==12.*' || return 1
}

# Starts moto's S3-compatible server on a free loopback port. Sets S3_TEST_URL; stop it with
# stop_test_s3.
start_test_s3() {
    ensure_pyenv || return 1
    S3_TEST_PORT=$(free_port)
    "$PYENV/bin/moto_server" -H 127.0.0.1 -p "$S3_TEST_PORT" >target/test-logs/moto.log 2>&1 &
    S3_TEST_PID=$!
    S3_TEST_URL="http://127.0.0.1:$S3_TEST_PORT"
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$S3_TEST_URL" && return 0
        sleep 0.1
    done
    echo "moto_server did not start; see target/test-logs/moto.log" >&2
    return 1
}

stop_test_s3() {
    [ -n "${S3_TEST_PID:-}" ] || return 0
    kill "$S3_TEST_PID" 2>/dev/null || true
    wait "$S3_TEST_PID" 2>/dev/null || true
    S3_TEST_PID=""
}

# Thunderbird 140 ESR beside the installed (newer) one, for the end-to-end tests: Debian
# bookworm carries 140 in main and the newest ESR in bookworm-security, and apt installs one
# at a time, so 140's package is unpacked under target/. Sets THUNDERBIRD_140 to its binary.
ensure_thunderbird_140() {
    local dir="target/thunderbird-140"
    THUNDERBIRD_140="$dir/usr/lib/thunderbird/thunderbird"
    [ -x "$THUNDERBIRD_140" ] && return 0
    apt_install thunderbird || return 1
    local version
    version=$(apt-cache madison thunderbird | awk '{print $3}' | grep '^1:140\.' | sort -V | tail -n 1)
    if [ -z "$version" ]; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        version=$(apt-cache madison thunderbird | awk '{print $3}' | grep '^1:140\.' | sort -V | tail -n 1)
    fi
    [ -n "$version" ] || { echo "no Thunderbird 140 package in the apt sources" >&2; return 1; }
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq "thunderbird=$version" 2>/dev/null) || { rm -rf "$tmp"; return 1; }
    rm -rf "$dir" && mkdir -p "$dir"
    dpkg -x "$tmp"/thunderbird_*.deb "$dir"
    rm -rf "$tmp"
    [ -x "$THUNDERBIRD_140" ]
}

# ensure_npm_ci DIR: installs DIR's locked npm dependencies (npm ci) unless node_modules is
# already newer than package-lock.json.
ensure_npm_ci() {
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm || return 1
    if [ "$1/node_modules/.package-lock.json" -nt "$1/package-lock.json" ]; then
        return 0
    fi
    (cd "$1" && npm ci --silent --no-audit --no-fund)
}

# ensure_node_package NAME@VERSION: installs an npm package into target/node-tools (once).
NODE_TOOLS="target/node-tools"
ensure_node_package() {
    local name="${1%@*}"
    if [ -e "$NODE_TOOLS/node_modules/$name/package.json" ] \
        && grep -q "\"version\": \"${1##*@}\"" "$NODE_TOOLS/node_modules/$name/package.json"; then
        return 0
    fi
    # Node.js may come from elsewhere than Debian (then its npm is not a Debian package).
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm || return 1
    mkdir -p "$NODE_TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$NODE_TOOLS" "$1"
}
