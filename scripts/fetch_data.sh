#!/usr/bin/env bash
# Unpack the real corpora named in docs/DESIGN (Debian packages) into data/, without installing them.
#
#   scripts/fetch_data.sh [DATA_DIR]        (default: $HNET_BIO_DATA, else <repo>/data)
#
# Each package is downloaded with `apt-get download` (or taken from DATA_DIR/debs if already there)
# and unpacked with `dpkg-deb -x` into DATA_DIR/pkgs/<package>/, then DATA_DIR/MANIFEST.tsv lists
# every unpacked file with its size and sha256. A package directory appears only once fully unpacked
# (unpack to a temp dir, then rename), so an interrupted run is simply resumed. A second run finds
# everything in place and does nothing.
set -euo pipefail

PACKAGES=(ragout-examples any2fasta-examples asterisk-core-sounds-en-wav asterisk-moh-opsound-wav)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${1:-${HNET_BIO_DATA:-$REPO/data}}"
mkdir -p "$DATA_DIR/debs" "$DATA_DIR/pkgs"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"

missing=()
for pkg in "${PACKAGES[@]}"; do
    [[ -f "$DATA_DIR/pkgs/$pkg/.complete" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 && -f "$DATA_DIR/MANIFEST.tsv" ]]; then
    echo "fetch_data: up to date ($DATA_DIR, ${#PACKAGES[@]} packages); nothing to do"
    exit 0
fi

if [[ ${#missing[@]} -gt 0 ]]; then
    for tool in apt-get dpkg-deb; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "fetch_data: error: '$tool' not found; the full corpora need Debian's apt tools" \
                 "(the embedded dna-sample corpus works without them)" >&2
            exit 1
        fi
    done
    need_download=()
    for pkg in "${missing[@]}"; do
        compgen -G "$DATA_DIR/debs/${pkg}_*.deb" >/dev/null || need_download+=("$pkg")
    done
    if [[ ${#need_download[@]} -gt 0 ]]; then
        echo "fetch_data: downloading ${need_download[*]}"
        if ! (cd "$DATA_DIR/debs" && apt-get download "${need_download[@]}"); then
            echo "fetch_data: apt-get download failed; running apt-get update once and retrying"
            apt-get update -qq
            (cd "$DATA_DIR/debs" && apt-get download "${need_download[@]}")
        fi
    fi
    for pkg in "${missing[@]}"; do
        deb="$(compgen -G "$DATA_DIR/debs/${pkg}_*.deb" | sort | tail -n 1)"
        tmp="$DATA_DIR/pkgs/.$pkg.tmp"
        rm -rf "$tmp" "$DATA_DIR/pkgs/$pkg"
        mkdir -p "$tmp"
        echo "fetch_data: unpacking $(basename "$deb")"
        dpkg-deb -x "$deb" "$tmp"
        basename "$deb" > "$tmp/.complete"
        mv "$tmp" "$DATA_DIR/pkgs/$pkg"
    done
fi

manifest_tmp="$DATA_DIR/.MANIFEST.tsv.tmp"
{
    printf 'path\tbytes\tsha256\n'
    (cd "$DATA_DIR" && find pkgs -type f ! -name .complete -print0 | sort -z \
        | xargs -0 sha256sum | while read -r sum path; do
            printf '%s\t%s\t%s\n' "$path" "$(stat -c %s "$path")" "$sum"
        done)
} > "$manifest_tmp"
mv "$manifest_tmp" "$DATA_DIR/MANIFEST.tsv"
echo "fetch_data: done; $(($(wc -l < "$DATA_DIR/MANIFEST.tsv") - 1)) files listed in $DATA_DIR/MANIFEST.tsv"
