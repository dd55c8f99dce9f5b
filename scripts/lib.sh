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
