#!/usr/bin/env bash
# Install the system packages the native plugin library needs, but only those that are missing.
#
#   bash scripts/system_packages.sh          # prints what is missing, installs it when it can
#
# One Debian package per missing tool, each installed on its own: a tool that exists is never
# reinstalled (the machine image's npm comes with its own Node.js, and Debian's npm package conflicts
# with it), and one package that cannot be installed does not stop the others. Never fails: where
# something stays missing it says so, and the setup goes on with the pure-Python path.
# Prints the names still missing on its last line, prefixed "missing:" (empty when all is there).
#
# Environment (for tests and unusual machines): COMIX_EIGEN_HEADERS, the Eigen/Core paths to look for.
set -uo pipefail

EIGEN_HEADERS=${COMIX_EIGEN_HEADERS:-"/usr/include/eigen3/Eigen/Core /usr/local/include/eigen3/Eigen/Core"}

# tool -> Debian package that provides it
package_for() {
    case "$1" in
        eigen3) echo libeigen3-dev ;;
        *) echo "$1" ;;
    esac
}

missing_tools() {
    local missing=""
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
    echo "setup: system build tools present (cmake g++ make npm tar eigen3)"
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
