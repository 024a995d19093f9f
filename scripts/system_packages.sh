#!/usr/bin/env bash
# Install the system packages the project builds with, but only those that are missing.
#
#   bash scripts/system_packages.sh                  # the native plugin library's build tools
#   bash scripts/system_packages.sh --cross-aarch64  # the aarch64 cross compilers and qemu-user
#                                                    # (scripts/cross-aarch64.sh and its test)
#
# One Debian package per missing tool, each installed on its own: a tool that exists is never
# reinstalled (the machine image's npm comes with its own Node.js, and Debian's npm package conflicts
# with it), and one package that cannot be installed does not stop the others. Never fails: where
# something stays missing it says so, and the setup goes on (without the native tools, with the
# pure-Python path; without the cross tools, the aarch64 check is skipped with its reason).
# Prints the names still missing on its last line, prefixed "missing:" (empty when all is there).
#
# Environment (for tests and unusual machines): COMIX_EIGEN_HEADERS, the Eigen/Core paths to look for.
set -uo pipefail

EIGEN_HEADERS=${COMIX_EIGEN_HEADERS:-"/usr/include/eigen3/Eigen/Core /usr/local/include/eigen3/Eigen/Core"}

case "${1:-}" in
    "") cross=""; set_name="system build tools (cmake g++ make npm tar eigen3)" ;;
    --cross-aarch64) cross=yes; set_name="aarch64 cross tools (aarch64-linux-gnu-g++ and -gcc, qemu-aarch64, cmake)" ;;
    *) echo "system_packages: got the argument '$1', expected none or --cross-aarch64" >&2; exit 2 ;;
esac

# tool -> Debian package that provides it
package_for() {
    case "$1" in
        eigen3) echo libeigen3-dev ;;
        aarch64-linux-gnu-g++) echo g++-aarch64-linux-gnu ;;
        aarch64-linux-gnu-gcc) echo gcc-aarch64-linux-gnu ;;
        qemu-aarch64) echo qemu-user-static ;;
        *) echo "$1" ;;
    esac
}

missing_tools() {
    local missing=""
    if [ -n "$cross" ]; then
        for tool in aarch64-linux-gnu-g++ aarch64-linux-gnu-gcc cmake; do
            command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
        done
        command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1 \
            || missing="$missing qemu-aarch64"
        echo "$missing"
        return
    fi
    for tool in cmake g++ make npm tar; do
        command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
    done
    local found=""
    for header in $EIGEN_HEADERS; do
        [ -f "$header" ] && found=yes
    done
    [ -n "$found" ] || [ -n "${Eigen3_DIR:-}" ] || missing="$missing eigen3"
    echo "$missing"
}

missing=$(missing_tools)
if [ -z "$missing" ]; then
    echo "setup: $set_name present"
    echo "missing:"
    exit 0
fi

packages=""
for tool in $missing; do packages="$packages $(package_for "$tool")"; done
echo "setup: missing$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || echo "setup: apt-get update failed; trying the installs anyway" >&2
    for package in $packages; do
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null 2>&1; then
            echo "setup: installed $package"
        else
            echo "setup: could not install $package with apt-get" >&2
        fi
    done
else
    echo "setup: not root or no apt-get; install them with: sudo apt-get install -y$packages" >&2
fi
echo "missing:$(missing_tools)"
