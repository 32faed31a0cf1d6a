#!/usr/bin/env bash
# One-time machine set-up for Debian/Ubuntu: the system packages and rustup pieces that
# `cargo xtask dist` and `cargo xtask test` need. Idempotent; the xtask installs zig,
# cargo-zigbuild, maturin and every Python tool itself, into target/venvs/.
# `--check`: change nothing, list what is missing and exit 1 if anything is (`cargo xtask test`
# runs this first, and the full set-up itself when it runs as root).
set -euo pipefail

# mingw-w64: stub DLL for wine tests; wine64: runs the Windows sidecar; gh: github-release;
# patchelf: Nuitka standalone builds; qemu-user-static + libc6-arm64-cross: run the Linux aarch64
# binaries (`qemu-aarch64-static -L /usr/aarch64-linux-gnu`).
apt_packages=(mingw-w64 wine64 gh patchelf gcc libc6-dev qemu-user-static libc6-arm64-cross)
# npm: installs Node 22 and the MCP conformance suite into target/ (any Node that brings npm will do).
command -v npm >/dev/null || apt_packages+=(npm)
# osslsigncode + openssl: Authenticode signing in dist and the throwaway certificates of its tests.
apt_packages+=(osslsigncode openssl)
rust_components=(rustfmt clippy)
rust_targets=(x86_64-unknown-linux-gnu x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-gnu
    aarch64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-unknown-linux-musl aarch64-pc-windows-gnullvm)

missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ "${1:-}" = --check ]; then
    installed=" $(rustup component list --installed 2>/dev/null | tr '\n' ' ') $(rustup target list --installed 2>/dev/null | tr '\n' ' ') "
    for piece in "${rust_components[@]}" "${rust_targets[@]}"; do
        case "$installed" in
            *" $piece "* | *" $piece-"*) ;;
            *) missing+=("rustup:$piece") ;;
        esac
    done
    if ((${#missing[@]})); then
        echo "missing: ${missing[*]}"
        exit 1
    fi
    exit 0
fi

if ((${#missing[@]})); then
    echo "==> apt-get install ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "==> rustup components and targets"
rustup component add "${rust_components[@]}" >/dev/null
rustup target add "${rust_targets[@]}" >/dev/null
