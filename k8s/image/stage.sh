#!/usr/bin/env bash
# Used by k8s/Dockerfile's build stage: stage.sh BUILD_DIR OUT COMPONENT...
# For each component, lays out OUT/root/<component>/ (what its image gets: the binary, stripped of
# debug information, and for some an extra tool or data) and writes OUT/packages/<component>.txt:
# the Debian packages that hold the shared libraries its binaries load, so that the runtime stage
# installs exactly those.
set -euo pipefail
build="$1" out="$2"
shift 2
src="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$out/packages"
for component in "$@"; do
  root="$out/root/$component"
  mkdir -p "$root/usr/local/bin"
  binaries=("$component")
  case "$component" in
    gateway) binaries+=(lc-admin) ;;  # issues staff tokens: kubectl exec deploy/gateway -- lc-admin
    lc-migrate)
      mkdir -p "$root/usr/share/livecommerce"
      cp -r "$src/db/migrations" "$root/usr/share/livecommerce/migrations"
      ;;
  esac
  for binary in "${binaries[@]}"; do
    file="$(find "$build" -type f -name "$binary" -perm -u+x | head -n 1)"
    if [ -z "$file" ]; then
      echo "stage.sh: no binary $binary under $build" >&2
      exit 1
    fi
    objcopy --strip-debug "$file" "$root/usr/local/bin/$binary"
  done
  # Each library that ldd resolves, to the package that owns it. dpkg may record the library under
  # /lib or /usr/lib (merged /usr), so both spellings are tried.
  : >"$out/packages/$component.txt.tmp"
  for lib in $(ldd "$root"/usr/local/bin/* | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u); do
    real="$(readlink -f "$lib")"
    owner=""
    for candidate in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do
      if owner="$(dpkg -S "$candidate" 2>/dev/null)"; then break; fi
    done
    if [ -z "$owner" ]; then
      echo "stage.sh: no Debian package owns $lib" >&2
      exit 1
    fi
    echo "${owner%%:*}" >>"$out/packages/$component.txt.tmp"
  done
  sort -u "$out/packages/$component.txt.tmp" >"$out/packages/$component.txt"
  rm "$out/packages/$component.txt.tmp"
  echo "stage.sh: $component needs $(tr '\n' ' ' <"$out/packages/$component.txt")" >&2
done
