#!/usr/bin/env bash
# A backstock repository on a three-node Garage cluster (a distributed S3 store) on loopback, with
# every object kept on all three nodes. It backs up a synthetic store export through node 1, backs
# up a day later, kills node 3, and then, through node 2, restores the latest snapshot, compares it
# with the export byte for byte, runs `check --read-data` and backs up once more. Each step's wall
# time and the requests it made are printed. Not run in CI: Garage takes about 20-30 minutes to build
# on 2 cores.
#
#   tests/garage/cluster.sh [PRODUCTS]        (default 2000 products, about 400 MB)
#
# Garage: $GARAGE, else `garage` on PATH, else it is built with cargo into $GARAGE_ROOT
# (default ~/.cache/backstock-garage). backstock: $BACKSTOCK, else target/release/backstock (built).
# The work directory (default: a new temporary one) is removed at the end unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."

products=${1:-2000}
garage_version=2.1.0

if [ -n "${GARAGE:-}" ]; then
  garage=$GARAGE
elif command -v garage >/dev/null; then
  garage=$(command -v garage)
else
  root=${GARAGE_ROOT:-$HOME/.cache/backstock-garage}
  if [ ! -x "$root/bin/garage" ]; then
    echo "== building garage $garage_version into $root (20-30 minutes on 2 cores)"
    cargo install garage --version "$garage_version" --locked --no-default-features \
      --features lmdb,bundled-libs --root "$root"
  fi
  garage=$root/bin/garage
fi
echo "== $("$garage" --version 2>/dev/null || echo "garage at $garage")"

if [ -n "${BACKSTOCK:-}" ]; then
  bs=$BACKSTOCK
else
  cargo build --release -q
  bs=$PWD/target/release/backstock
fi
cargo build --release -q -p backstock-bench --example gen_store
gen=$PWD/target/release/examples/gen_store

work=$(mktemp -d "${TMPDIR:-/tmp}/garage-cluster.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Ports: a random base, three nodes 10 apart (RPC base+1, S3 base+0, admin base+3).
base=$((20000 + RANDOM % 20000))
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
for n in 1 2 3; do
  p=$((base + 10 * n))
  mkdir -p "$work/node$n/meta" "$work/node$n/data"
  cat >"$work/node$n.toml" <<EOF
metadata_dir = "$work/node$n/meta"
data_dir = "$work/node$n/data"
db_engine = "lmdb"
replication_factor = 3
consistency_mode = "consistent"
rpc_secret = "$secret"
rpc_bind_addr = "127.0.0.1:$((p + 1))"
rpc_public_addr = "127.0.0.1:$((p + 1))"

[s3_api]
api_bind_addr = "127.0.0.1:$p"
s3_region = "garage"

[admin]
api_bind_addr = "127.0.0.1:$((p + 3))"
EOF
  RUST_LOG=warn "$garage" -c "$work/node$n.toml" server >"$work/node$n.log" 2>&1 &
  pids+=($!)
done
g() { "$garage" -c "$work/node1.toml" "$@"; }

# The nodes answer RPC once they have started.
for n in 1 2 3; do
  for _ in $(seq 100); do
    "$garage" -c "$work/node$n.toml" node id -q >/dev/null 2>&1 && break
    sleep 0.2
  done
done
for n in 2 3; do
  g node connect "$("$garage" -c "$work/node$n.toml" node id -q)" >/dev/null
done
# Each node in its own zone, so each object has one copy on each.
for n in 1 2 3; do
  id=$("$garage" -c "$work/node$n.toml" node id -q | cut -c1-16)
  g layout assign -z "zone$n" -c 10G "$id" >/dev/null
done
g layout apply --version 1 >/dev/null
key=$(g key create backstock)
export AWS_ACCESS_KEY_ID=$(echo "$key" | awk '/Key ID:/ {print $NF}')
export AWS_SECRET_ACCESS_KEY=$(echo "$key" | awk '/Secret key:/ {print $NF}')
export AWS_DEFAULT_REGION=garage
g bucket create shop-backups >/dev/null
g bucket allow --read --write --owner shop-backups --key backstock >/dev/null
echo "== cluster: 3 nodes, replication 3, S3 on 127.0.0.1:$((base + 10)), :$((base + 20)), :$((base + 30))"

echo "== export: $products products"
"$gen" "$work/export" "$products" >/dev/null
echo "   $(du -sb "$work/export" | cut -f1) bytes, $(find "$work/export" -type f | wc -l) files"

export BACKSTOCK_PASSWORD=garage-cluster
via() { echo "s3:http://127.0.0.1:$((base + 10 * $1))/shop-backups/repo"; }
# Runs one backstock command and prints its wall time and what it asked the store for.
step() {
  local label=$1
  shift
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$("$bs" --cache-dir "$cache" --json "$@")
  t1=$(date +%s.%N)
  printf '   %-34s %6.2f s  %s\n' "$label" "$(echo "$t1 - $t0" | bc)" \
    "$(echo "$out" | tail -n 1 | python3 -c 'import json,sys
d = json.loads(sys.stdin.read() or "{}")
ops = d.get("storage_operations") or {}
print(" ".join(f"{k}={v}" for k, v in sorted(ops.items()) if v))' 2>/dev/null || true)"
}

cd "$work"
cache=$work/cache
echo "== through node 1"
step "init" -r "$(via 1)" init
step "first backup" -r "$(via 1)" backup export
# The same export a simulated day later (the generator is seeded: day 0 comes out the same).
rm -rf "$work/export" && "$gen" "$work/export" "$products" 1 >/dev/null
step "backup after one simulated day" -r "$(via 1)" backup export

echo "== node 3 killed (kill -9)"
kill -9 "${pids[2]}"
sleep 1
echo "== through node 2"
step "snapshots" -r "$(via 2)" snapshots
step "restore latest" -r "$(via 2)" restore latest --target "$work/restored"
diff -r "$work/export" "$work/restored/export" && echo "   restored copy is identical to the export"
# As on a new machine: an empty cache.
cache=$work/cache-new
step "restore latest, new cache" -r "$(via 2)" restore latest --target "$work/restored-new"
diff -r "$work/export" "$work/restored-new/export" && echo "   restored copy is identical to the export"
step "check --read-data" -r "$(via 2)" check --read-data
step "backup with a node down" -r "$(via 2)" backup export
echo "== garage's view"
g status 2>&1 | sed 's/^/   /'
echo "== repository on node 1's disk: $(du -sb "$work/node1/data" | cut -f1) bytes of blocks"
