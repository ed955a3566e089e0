//! Deterministic synthetic "online store export" generator (Shopify-like bulk export),
//! used to produce realistic backup sources that change a little every simulated day.
//!
//! Export layout: `products/<id>.json`, `customers/<id>.json`, `orders/<YYYY-MM>/<id>.json`,
//! `collections/<id>.json`, `theme/**`, `products.jsonl` and
//! `media/<product-id>-<n>.<jpg|png|webp>`. All content is derived from the seed and the
//! item's own id/day, so the same parameters and calls give byte-identical trees.

mod assets;
mod catalog;
mod documents;
mod seed;
#[cfg(test)]
mod tests;

use anyhow::{bail, Context, Result};
use assets::{theme_blocks, theme_content, write_media, MediaSpec, THEME_FILES};
use catalog::{address_json, customer_core, product_core, product_extras, ProductCore};
use rand::seq::index::sample;
use rand::Rng;
use seed::{
    day_start, item_rng, DAY, TAG_COLLECTION, TAG_CUSTOMER_EDIT, TAG_DAY, TAG_EDIT, TAG_INIT,
    TAG_MEMBERSHIP,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Days of order history in the initial export (day 0 included).
const HISTORY_DAYS: i64 = 90;

/// Parameters of the simulated store.
#[derive(Debug, Clone)]
pub struct StoreParams {
    pub products: usize,
    pub customers: usize,
    pub orders_per_day: usize,
    /// Average number of media files per product.
    pub media_per_product: f64,
    pub seed: u64,
    /// Fraction of products whose price/inventory changes each day.
    pub edit_rate: f64,
    /// New products per day, as a fraction of the catalog.
    pub add_rate: f64,
    /// Deleted products per day, as a fraction of the catalog.
    pub delete_rate: f64,
    /// Fraction of customers edited each day.
    pub customer_edit_rate: f64,
    /// One theme file is edited every this many days (0 = never).
    pub theme_edit_every_days: usize,
}

impl Default for StoreParams {
    fn default() -> Self {
        Self {
            products: 1000,
            customers: 500,
            orders_per_day: 40,
            media_per_product: 1.0,
            seed: 0x5EED,
            edit_rate: 0.02,
            add_rate: 0.003,
            delete_rate: 0.001,
            customer_edit_rate: 0.01,
            theme_edit_every_days: 7,
        }
    }
}

/// What one call wrote or deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    pub files_written: usize,
    pub files_deleted: usize,
    pub bytes_written: u64,
}

struct VariantState {
    price: u64,
    compare_at: Option<u64>,
    inventory: i64,
}

struct ProductState {
    created: i64,
    updated: i64,
    variants: Vec<VariantState>,
}

struct CollectionState {
    updated: i64,
    members: BTreeSet<u64>,
}

/// Generates and mutates a store export; keeps only a compact catalog model in memory.
pub struct StoreGenerator {
    params: StoreParams,
    day: usize,
    initialized: bool,
    /// Product sequence number -> mutable state (prices, inventory, timestamps).
    products: BTreeMap<u64, ProductState>,
    next_product: u64,
    /// Per customer: (day of last edit, updated_at) once edited.
    customers: Vec<Option<(i64, i64)>>,
    next_order: u64,
    collections: Vec<CollectionState>,
    /// Per theme file: (block, day) edits in order.
    theme_edits: Vec<Vec<(u32, u32)>>,
}

fn product_id(seq: u64) -> u64 {
    7_100_000_000_000 + seq * 1_013
}
fn variant_id(seq: u64, v: usize) -> u64 {
    42_000_000_000_000 + seq * 16 + v as u64
}
fn customer_id(seq: u64) -> u64 {
    6_200_000_000_000 + seq * 977
}
fn order_id(seq: u64) -> u64 {
    5_400_000_000_000 + seq * 131
}
fn collection_id(i: usize) -> u64 {
    410_000_000_000 + i as u64 * 7
}
fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}
fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}
/// floor(x) plus one with probability frac(x).
fn stochastic<R: Rng>(rng: &mut R, x: f64) -> usize {
    let x = x.max(0.0);
    x.floor() as usize + usize::from(rng.gen::<f64>() < x.fract())
}

fn write_bytes(stats: &mut DayStats, path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("write {}", path.display()))?;
    stats.files_written += 1;
    stats.bytes_written += bytes.len() as u64;
    Ok(())
}
fn write_json(stats: &mut DayStats, path: &Path, v: &Value) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(v)?;
    bytes.push(b'\n');
    write_bytes(stats, path, &bytes)
}
fn mkdir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).with_context(|| format!("create dir {}", path.display()))
}

fn memberships(seed: u64, seq: u64, n_collections: usize) -> Vec<usize> {
    let mut rng = item_rng(seed, TAG_MEMBERSHIP, seq, 0);
    let k = rng.gen_range(1..=3usize).min(n_collections);
    sample(&mut rng, n_collections, k).into_vec()
}

fn media_path(seq: u64, m: &MediaSpec) -> String {
    format!("media/{}-{}.{}", product_id(seq), m.n, m.ext)
}

impl StoreGenerator {
    pub fn new(params: StoreParams) -> Self {
        let seed = params.seed;
        let n_collections = (params.products / 80).max(3);
        let mut g = Self {
            day: 0,
            initialized: false,
            products: BTreeMap::new(),
            next_product: params.products as u64,
            customers: vec![None; params.customers],
            next_order: 0,
            collections: (0..n_collections)
                .map(|i| CollectionState {
                    updated: day_start(0)
                        - item_rng(seed, TAG_COLLECTION, i as u64, 1).gen_range(0..DAY * 30),
                    members: BTreeSet::new(),
                })
                .collect(),
            theme_edits: vec![Vec::new(); THEME_FILES.len()],
            params,
        };
        for seq in 0..g.next_product {
            let mut rng = item_rng(seed, TAG_INIT, seq, 0);
            let created = day_start(-rng.gen_range(1..900)) + rng.gen_range(0..DAY);
            let updated = created + rng.gen_range(0..=day_start(0) - created);
            g.insert_product(seq, created, updated);
        }
        g
    }

    /// Current simulated day (0 = initial export).
    pub fn day(&self) -> usize {
        self.day
    }

    /// Relative paths of the product JSON files currently present.
    pub fn product_paths(&self) -> Vec<PathBuf> {
        self.products
            .keys()
            .map(|&s| PathBuf::from(format!("products/{}.json", product_id(s))))
            .collect()
    }

    /// Writes day 0 (the full initial export) into `dir` (created if missing).
    pub fn write_initial(&mut self, dir: &Path) -> Result<DayStats> {
        if self.initialized {
            bail!("initial export already written");
        }
        let mut stats = DayStats::default();
        for sub in ["products", "customers", "orders", "collections", "media"] {
            mkdir(&dir.join(sub))?;
        }
        let mut buf = Vec::new();
        for (&seq, st) in &self.products {
            self.write_product(dir, seq, st, true, &mut stats, &mut buf)?;
        }
        for seq in 0..self.customers.len() {
            self.write_customer(dir, seq, &mut stats)?;
        }
        for i in 0..self.collections.len() {
            self.write_collection(dir, i, &mut stats)?;
        }
        let catalog: Vec<u64> = self.products.keys().copied().collect();
        for day in 1 - HISTORY_DAYS..=0 {
            self.write_orders(dir, day, &catalog, &mut stats)?;
        }
        for file in 0..THEME_FILES.len() {
            self.write_theme(dir, file, &mut stats)?;
        }
        self.write_jsonl(dir, &mut stats)?;
        self.initialized = true;
        Ok(stats)
    }

    /// Mutates the export in `dir` in place to simulate one more day.
    pub fn advance_day(&mut self, dir: &Path) -> Result<DayStats> {
        if !self.initialized {
            bail!("write_initial must be called before advance_day");
        }
        self.day += 1;
        let day = self.day as i64;
        let p = self.params.clone();
        let mut rng = item_rng(p.seed, TAG_DAY, day as u64, 0);
        let mut stats = DayStats::default();
        let mut dirty = BTreeSet::new();
        let mut buf = Vec::new();

        let seqs: Vec<u64> = self.products.keys().copied().collect();
        let n = seqs.len();
        let n_del = stochastic(&mut rng, p.delete_rate * n as f64).min(n);
        let n_edit = stochastic(&mut rng, p.edit_rate * n as f64).min(n - n_del);
        let n_add = stochastic(&mut rng, p.add_rate * n as f64);
        let chosen = sample(&mut rng, n, n_del + n_edit).into_vec();
        for &i in &chosen[..n_del] {
            let seq = seqs[i];
            let pid = product_id(seq);
            let core = product_core(p.seed, seq, p.media_per_product);
            let mut paths = vec![format!("products/{pid}.json")];
            paths.extend(core.media.iter().map(|m| media_path(seq, m)));
            for rel in paths {
                let path = dir.join(rel);
                fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
                stats.files_deleted += 1;
            }
            self.products.remove(&seq);
            for c in memberships(p.seed, seq, self.collections.len()) {
                self.collections[c].members.remove(&seq);
                dirty.insert(c);
            }
        }
        for &i in &chosen[n_del..] {
            let seq = seqs[i];
            let mut r = item_rng(p.seed, TAG_EDIT, seq, day as u64);
            if let Some(st) = self.products.get_mut(&seq) {
                st.updated = day_start(day) + r.gen_range(0..DAY);
                // At least one variant's inventory always changes.
                let forced = r.gen_range(0..st.variants.len().max(1));
                for (vi, v) in st.variants.iter_mut().enumerate() {
                    if vi == forced || r.gen_bool(0.7) {
                        v.inventory = if v.inventory > 0 && r.gen_bool(0.8) {
                            (v.inventory - r.gen_range(1..=5)).max(0)
                        } else {
                            v.inventory + r.gen_range(10..=60)
                        };
                    }
                    if r.gen_bool(0.2) {
                        let pct: i64 = r.gen_range(-20..=20);
                        let old = v.price;
                        v.price = ((old as i64 * (100 + pct) / 10_000).max(1) * 100 + 99) as u64;
                        v.compare_at = if pct < 0 && r.gen_bool(0.5) {
                            Some(old)
                        } else {
                            v.compare_at
                        };
                    }
                }
            }
            if let Some(st) = self.products.get(&seq) {
                self.write_product(dir, seq, st, false, &mut stats, &mut buf)?;
            }
        }
        for _ in 0..n_add {
            let seq = self.next_product;
            self.next_product += 1;
            let created =
                day_start(day) + item_rng(p.seed, TAG_INIT, seq, day as u64).gen_range(0..DAY);
            dirty.extend(self.insert_product(seq, created, created));
            if let Some(st) = self.products.get(&seq) {
                self.write_product(dir, seq, st, true, &mut stats, &mut buf)?;
            }
        }
        let nc = self.customers.len();
        let k = stochastic(&mut rng, p.customer_edit_rate * nc as f64).min(nc);
        for i in sample(&mut rng, nc, k).into_vec() {
            let ts = day_start(day)
                + item_rng(p.seed, TAG_CUSTOMER_EDIT, i as u64, day as u64 + (1 << 40))
                    .gen_range(0..DAY);
            self.customers[i] = Some((day, ts));
            self.write_customer(dir, i, &mut stats)?;
        }
        let catalog: Vec<u64> = self.products.keys().copied().collect();
        self.write_orders(dir, day, &catalog, &mut stats)?;
        let every = p.theme_edit_every_days;
        if every > 0 && self.day.is_multiple_of(every) {
            let file = rng.gen_range(0..THEME_FILES.len());
            let block = rng.gen_range(0..theme_blocks(p.seed, file));
            self.theme_edits[file].push((block, day as u32));
            self.write_theme(dir, file, &mut stats)?;
        }
        for i in dirty {
            self.collections[i].updated = day_start(day) + DAY - 1 - i as i64;
            self.write_collection(dir, i, &mut stats)?;
        }
        self.write_jsonl(dir, &mut stats)?;
        Ok(stats)
    }

    /// Adds a product to the model; returns the collections it joined.
    fn insert_product(&mut self, seq: u64, created: i64, updated: i64) -> Vec<usize> {
        let core = product_core(self.params.seed, seq, self.params.media_per_product);
        let variants = core
            .variants
            .iter()
            .map(|v| VariantState {
                price: v.price,
                compare_at: v.compare_at,
                inventory: v.inventory,
            })
            .collect();
        self.products.insert(
            seq,
            ProductState {
                created,
                updated,
                variants,
            },
        );
        let joined = memberships(self.params.seed, seq, self.collections.len());
        for &c in &joined {
            self.collections[c].members.insert(seq);
        }
        joined
    }
}
