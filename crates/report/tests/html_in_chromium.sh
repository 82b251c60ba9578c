#!/usr/bin/env bash
# Renders the fixture reports and checks them outside cargo:
#   1. each HTML report opens in headless Chromium with no console errors,
#      and its screenshot is not blank;
#   2. each JUnit report validates against tests/data/junit.xsd (xmllint);
#   3. each JSON report validates against schema/report.v1.schema.json
#      (python3 jsonschema, when that module is installed).
# Installs Debian's chromium and libxml2-utils with apt-get when missing.
# Everything stays on local files; Chromium's network features are off.
# Usage: crates/report/tests/html_in_chromium.sh [OUT_DIR]   (exit 0 = pass)
set -euo pipefail

crate_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${1:-$(mktemp -d)}"
mkdir -p "$out_dir"
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

install_missing() {
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v xmllint >/dev/null || missing+=(libxml2-utils)
    if ((${#missing[@]})); then
        echo "installing ${missing[*]} with apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

chromium_run() {
    local profile
    profile="$(mktemp -d)"
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" "$@"
    rm -rf "$profile"
}

install_missing

echo "writing fixture reports into $out_dir"
run_dirs="$(cd "$crate_dir" && cargo run -q -p drctl-report --example write_fixture_reports -- "$out_dir/state")"

for run_dir in $run_dirs; do
    run_id="$(basename "$run_dir")"
    html="$run_dir/report.html"
    png="$out_dir/$run_id.png"

    # Screenshot: the PNG must exist and show real content.
    chromium_run --screenshot="$png" --window-size=1280,2000 "file://$html" >/dev/null 2>"$out_dir/$run_id.screenshot.log" ||
        fail "$run_id: chromium --screenshot failed; see $out_dir/$run_id.screenshot.log"
    if [[ -s "$png" ]]; then
        python3 - "$png" <<'PY' || fail "$run_id: screenshot $png looks blank"
import sys, zlib, struct
# Decode the PNG without PIL: concatenate IDAT chunks, inflate, and count
# distinct scanline byte values. A blank page inflates to one repeated value.
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
raw = zlib.decompress(idat)
distinct = len(set(raw))
print(f"{sys.argv[1]}: {len(data)} bytes, {distinct} distinct byte values")
sys.exit(0 if distinct > 16 and len(data) > 20000 else 1)
PY
    else
        fail "$run_id: no screenshot at $png"
    fi

    # Console: with --enable-logging=stderr, Chromium 156 (Debian 12) writes each console
    # message and uncaught exception as an INFO:CONSOLE line.
    chromium_run --enable-logging=stderr --v=0 --dump-dom "file://$html" >"$out_dir/$run_id.dom.html" 2>"$out_dir/$run_id.console.log" ||
        fail "$run_id: chromium --dump-dom failed; see $out_dir/$run_id.console.log"
    if grep -E 'CONSOLE[:(]|Uncaught|ERROR:.*(console|javascript)' "$out_dir/$run_id.console.log"; then
        fail "$run_id: console messages in $out_dir/$run_id.console.log"
    fi
    grep -q '<svg' "$out_dir/$run_id.dom.html" || fail "$run_id: rendered DOM has no SVG timeline"
    grep -q 'class="bar ' "$out_dir/$run_id.dom.html" || fail "$run_id: rendered timeline has no step bars"

    # JUnit against the XSD.
    xmllint --noout --schema "$crate_dir/tests/data/junit.xsd" "$run_dir/report.junit.xml" ||
        fail "$run_id: report.junit.xml does not validate against junit.xsd"

    # JSON against the JSON Schema, when python3 has jsonschema.
    if python3 -c 'import jsonschema' 2>/dev/null; then
        python3 - "$crate_dir/schema/report.v1.schema.json" "$run_dir/report.json" <<'PY' || fail "$run_id: report.json does not match its JSON Schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))
PY
    else
        echo "note: python3 jsonschema is not installed; JSON Schema validation skipped (the Rust tests still check it)"
    fi
done

if ((failures)); then
    echo "$failures check(s) failed; outputs in $out_dir" >&2
    exit 1
fi
echo "all checks passed; screenshots and logs in $out_dir"
