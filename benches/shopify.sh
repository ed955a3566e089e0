#!/usr/bin/env bash
# The Shopify connector's figures (docs/benchmarks.md): against the fake Admin API on loopback,
# a first export and backup of a store, then daily ones after a simulated day (2% of products
# edited, some added and deleted, a theme file edited, new orders). Each step is timed apart
# (export, then backup of the export) with its peak RSS; requests and media bytes come from the
# fake's counters.
#   benches/shopify.sh [PRODUCTS] [DAYS]      (defaults: 5000 products, 5 days)
set -euo pipefail
products=${1:-5000}
days=${2:-5}
cd "$(dirname "$0")/.."
cargo build -q --release -p backstock
[ -n "${NO_BUILD:-}" ] || cargo build -q --release --example fake_shopify
bin=$PWD/target/release/backstock
work=$(mktemp -d)
trap 'kill $fake 2>/dev/null || true; rm -rf "$work"' EXIT
./target/release/examples/fake_shopify --port 0 --products "$products" \
    --customers $((products / 2)) --orders "$products" >"$work/fake.out" &
fake=$!
for _ in $(seq 1200); do grep -q listening "$work/fake.out" && break; sleep 0.1; done
[ -n "$(sed -n "s/^listening on //p" "$work/fake.out")" ] || { echo "the fake store did not start" >&2; exit 1; }
url=$(sed -n 's/^listening on //p' "$work/fake.out")
export BACKSTOCK_REPOSITORY=$work/repo BACKSTOCK_PASSWORD=bench SHOPIFY_ACCESS_TOKEN=bench
"$bin" -q init
counters() { curl -s "$url/_fake/counters"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
step() { # NAME: one export and one backup, timed apart
    curl -s -X POST "$url/_fake/reset-counters" >/dev/null
    /usr/bin/time -f "%e %M" -o "$work/t1" "$bin" --json shopify export --shop fake.myshopify.com \
        --out "$work/export" --admin-url "$url" >"$work/export.json"
    local c; c=$(counters)
    /usr/bin/time -f "%e %M" -o "$work/t2" "$bin" --json backup --host fake.myshopify.com \
        "$work/export" >"$work/backup.json"
    read -r e_s e_kb <"$work/t1"
    read -r b_s b_kb <"$work/t2"
    printf '%-6s export %6.2fs %6d KiB RSS | backup %6.2fs %6d KiB RSS | %5s API requests, %5s media downloads, %9s media bytes, %4s theme bodies | added %s bytes\n' \
        "$1" "$e_s" "$e_kb" "$b_s" "$b_kb" \
        "$(echo "$c" | field "['graphql_requests']")" "$(echo "$c" | field "['media_downloads']")" \
        "$(echo "$c" | field "['media_bytes']")" "$(echo "$c" | field "['theme_bodies']")" \
        "$(field "['summary']['bytes_added_stored']" <"$work/backup.json")"
}
echo "store: $products products; $(du -sh "$work" | cut -f1) before the first run"
step first
echo "export: $(du -sh "$work/export" | cut -f1), $(find "$work/export" -type f | wc -l) files"
for d in $(seq "$days"); do
    curl -s -X POST "$url/_fake/advance" | python3 -c "import json,sys; d=json.load(sys.stdin); print('day $d:', {k: len(v) for k, v in d.items()})"
    step "day$d"
done
echo "repository: $(du -sh "$work/repo" | cut -f1)"
