//! Deterministic synthetic "online store export" generator (Shopify-like bulk export),
//! used to produce realistic backup sources that change a little every simulated day.
//!
//! Export layout: `products/<id>.json`, `customers/<id>.json`, `orders/<YYYY-MM>/<id>.json`,
//! `collections/<id>.json`, `theme/**`, `products.jsonl` and
//! `media/<product-id>-<n>.<jpg|png|webp>`. All content is derived from the seed and the
//! item's own id/day, so the same parameters and calls give byte-identical trees.

use crate::generate_media as media;

use anyhow::{bail, Context, Result};
use media::{
    address_json, customer_core, day_start, iso, item_rng, month_of, paragraph, pick, product_core,
    product_extras, slug, theme_blocks, theme_content, write_media, MediaSpec, ProductCore,
    ADJECTIVES, DAY, NOUNS, TAG_CUSTOMER_EDIT, THEME_FILES,
};
use rand::seq::index::sample;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

const TAG_EDIT: u64 = 3;
const TAG_ORDER: u64 = 6;
const TAG_DAY: u64 = 7;
const TAG_COLLECTION: u64 = 8;
const TAG_MEMBERSHIP: u64 = 9;
const TAG_INIT: u64 = 10;

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

    fn product_json(&self, seq: u64, st: &ProductState, core: &ProductCore) -> Value {
        let pid = product_id(seq);
        let (body, metafields) = product_extras(self.params.seed, seq, core);
        let (created, updated) = (iso(st.created), iso(st.updated));
        let variants: Vec<Value> = core
            .variants
            .iter()
            .zip(&st.variants)
            .enumerate()
            .map(|(i, (v, s))| {
                json!({
                    "id": variant_id(seq, i), "product_id": pid, "title": v.title, "sku": v.sku,
                    "barcode": v.barcode, "price": money(s.price), "compare_at_price": s.compare_at.map(money),
                    "inventory_quantity": s.inventory, "inventory_management": "shopify",
                    "inventory_policy": "deny", "fulfillment_service": "manual", "grams": v.grams,
                    "weight": v.grams as f64 / 1000.0, "weight_unit": "kg", "option1": v.options.first(),
                    "option2": v.options.get(1), "option3": null, "position": i + 1, "taxable": true,
                    "requires_shipping": true, "created_at": created, "updated_at": updated,
                    "admin_graphql_api_id": gid("ProductVariant", variant_id(seq, i)),
                })
            })
            .collect();
        let options: Vec<Value> = core
            .option_names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let mut values: Vec<&str> = Vec::new();
                for v in &core.variants {
                    if !values.contains(&v.options[k]) {
                        values.push(v.options[k]);
                    }
                }
                json!({ "id": 9_000_000_000_000 + seq * 4 + k as u64, "product_id": pid, "name": name, "position": k + 1, "values": values })
            })
            .collect();
        let images: Vec<Value> = core
            .media
            .iter()
            .map(|m| {
                json!({
                    "id": 31_000_000_000_000 + seq * 16 + m.n, "product_id": pid, "position": m.n,
                    "src": media_path(seq, m), "width": m.width, "height": m.height, "alt": core.title,
                    "created_at": created, "variant_ids": [],
                })
            })
            .collect();
        json!({
            "id": pid, "title": core.title, "handle": format!("{}-{seq}", slug(&core.title)),
            "body_html": body, "vendor": core.vendor, "product_type": core.product_type,
            "tags": core.tags.join(", "), "status": "active", "published_scope": "web",
            "template_suffix": null, "created_at": created, "updated_at": updated, "published_at": created,
            "variants": variants, "options": options, "image": images.first(), "images": images,
            "metafields": metafields, "admin_graphql_api_id": gid("Product", pid),
        })
    }

    fn write_product(
        &self,
        dir: &Path,
        seq: u64,
        st: &ProductState,
        with_media: bool,
        stats: &mut DayStats,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let core = product_core(self.params.seed, seq, self.params.media_per_product);
        let path = dir.join(format!("products/{}.json", product_id(seq)));
        write_json(stats, &path, &self.product_json(seq, st, &core))?;
        if with_media {
            for m in &core.media {
                let bytes =
                    write_media(&dir.join(media_path(seq, m)), self.params.seed, seq, m, buf)?;
                stats.files_written += 1;
                stats.bytes_written += bytes;
            }
        }
        Ok(())
    }

    fn write_customer(&self, dir: &Path, seq: usize, stats: &mut DayStats) -> Result<()> {
        let s = seq as u64;
        let id = customer_id(s);
        let c = customer_core(self.params.seed, s, self.customers[seq]);
        let addr = address_json(&c, 8_800_000_000_000 + s);
        let doc = json!({
            "id": id, "email": c.email, "first_name": c.first, "last_name": c.last, "phone": c.phone,
            "accepts_marketing": c.accepts_marketing, "created_at": iso(c.created), "updated_at": iso(c.updated),
            "state": "enabled", "verified_email": true, "tax_exempt": false, "currency": "USD",
            "orders_count": c.orders_count, "total_spent": money(c.total_spent), "note": c.note,
            "tags": c.tags.join(", "), "addresses": [addr.clone()], "default_address": addr,
            "admin_graphql_api_id": gid("Customer", id),
        });
        write_json(stats, &dir.join(format!("customers/{id}.json")), &doc)
    }

    fn write_collection(&self, dir: &Path, i: usize, stats: &mut DayStats) -> Result<()> {
        let mut rng = item_rng(self.params.seed, TAG_COLLECTION, i as u64, 0);
        let title = format!("{} {}s", pick(&mut rng, ADJECTIVES), pick(&mut rng, NOUNS));
        let c = &self.collections[i];
        let ids: Vec<u64> = c.members.iter().map(|&s| product_id(s)).collect();
        let id = collection_id(i);
        let doc = json!({
            "id": id, "handle": format!("{}-{i}", slug(&title)), "title": title,
            "body_html": format!("<p>{}</p>", paragraph(&mut rng, 2)), "sort_order": "best-selling",
            "published_scope": "web", "template_suffix": null, "published_at": iso(day_start(-1000) + i as i64 * 3600),
            "updated_at": iso(c.updated), "products_count": ids.len(), "product_ids": ids,
            "admin_graphql_api_id": gid("Collection", id),
        });
        write_json(stats, &dir.join(format!("collections/{id}.json")), &doc)
    }

    fn write_orders(
        &mut self,
        dir: &Path,
        day: i64,
        catalog: &[u64],
        stats: &mut DayStats,
    ) -> Result<()> {
        let per_day = self.params.orders_per_day as i64;
        for k in 0..per_day {
            let seq = self.next_order;
            self.next_order += 1;
            let mut rng = item_rng(self.params.seed, TAG_ORDER, seq, 0);
            let ts = day_start(day) + k * DAY / per_day + rng.gen_range(0..DAY / per_day);
            let mut items = Vec::new();
            let mut subtotal = 0;
            let n_items = if catalog.is_empty() {
                0
            } else {
                rng.gen_range(1..=4)
            };
            for j in 0..n_items {
                let pseq = catalog[rng.gen_range(0..catalog.len())];
                let core = product_core(self.params.seed, pseq, self.params.media_per_product);
                let v = rng.gen_range(0..core.variants.len());
                let price = self
                    .products
                    .get(&pseq)
                    .map_or(core.variants[v].price, |s| s.variants[v].price);
                let qty: u64 = rng.gen_range(1..=3);
                subtotal += price * qty;
                items.push(json!({
                    "id": 14_000_000_000_000 + seq * 8 + j, "product_id": product_id(pseq),
                    "variant_id": variant_id(pseq, v), "title": core.title, "variant_title": core.variants[v].title,
                    "sku": core.variants[v].sku, "vendor": core.vendor, "quantity": qty, "price": money(price),
                    "total_discount": "0.00", "taxable": true, "requires_shipping": true,
                }));
            }
            let discount = if rng.gen_bool(0.15) { subtotal / 10 } else { 0 };
            let shipping = if subtotal >= 7500 {
                0
            } else {
                [699, 1299][rng.gen_range(0..2)]
            };
            let tax = (subtotal - discount) * 8 / 100;
            let customer = (!self.customers.is_empty()).then(|| {
                let cs = rng.gen_range(0..self.customers.len());
                (
                    cs as u64,
                    customer_core(self.params.seed, cs as u64, self.customers[cs]),
                )
            });
            let id = order_id(seq);
            let (email, cust, addr) = match &customer {
                Some((cs, c)) => (
                    Value::from(c.email.clone()),
                    json!({ "id": customer_id(*cs), "email": c.email, "first_name": c.first, "last_name": c.last }),
                    address_json(c, 8_800_000_000_000 + cs),
                ),
                None => (Value::Null, Value::Null, Value::Null),
            };
            let doc = json!({
                "id": id, "name": format!("#{}", 1001 + seq), "order_number": 1001 + seq, "email": email,
                "created_at": iso(ts), "processed_at": iso(ts), "updated_at": iso(ts + rng.gen_range(0..7200)),
                "currency": "USD", "source_name": "web", "gateway": "shopify_payments",
                "financial_status": pick(&mut rng, &["paid", "paid", "paid", "paid", "pending", "refunded", "partially_refunded"]),
                "fulfillment_status": if rng.gen_bool(0.7) { Value::from("fulfilled") } else { Value::Null },
                "customer": cust, "line_items": items, "shipping_address": addr.clone(), "billing_address": addr,
                "shipping_lines": [{ "title": "Standard", "code": "STANDARD", "price": money(shipping) }],
                "discount_codes": if discount > 0 { json!([{ "code": "WELCOME10", "amount": money(discount), "type": "percentage" }]) } else { json!([]) },
                "subtotal_price": money(subtotal), "total_discounts": money(discount), "total_tax": money(tax),
                "total_shipping_price": money(shipping), "total_price": money(subtotal - discount + tax + shipping),
                "admin_graphql_api_id": gid("Order", id),
            });
            let month = dir.join("orders").join(month_of(ts));
            mkdir(&month)?;
            write_json(stats, &month.join(format!("{id}.json")), &doc)?;
        }
        Ok(())
    }

    fn write_theme(&self, dir: &Path, file: usize, stats: &mut DayStats) -> Result<()> {
        let path = dir.join("theme").join(THEME_FILES[file]);
        if let Some(parent) = path.parent() {
            mkdir(parent)?;
        }
        write_bytes(
            stats,
            &path,
            &theme_content(self.params.seed, file, &self.theme_edits[file])?,
        )
    }

    /// Bulk-operation shape: each product line followed by its variants and images.
    fn write_jsonl(&self, dir: &Path, stats: &mut DayStats) -> Result<()> {
        let path = dir.join("products.jsonl");
        let file = File::create(&path).with_context(|| format!("create {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut line = Vec::with_capacity(16 << 10);
        for (&seq, st) in &self.products {
            let core = product_core(self.params.seed, seq, self.params.media_per_product);
            let (body, _) = product_extras(self.params.seed, seq, &core);
            let parent = gid("Product", product_id(seq));
            let mut docs = vec![json!({
                "id": parent, "title": core.title, "handle": format!("{}-{seq}", slug(&core.title)),
                "descriptionHtml": body, "vendor": core.vendor, "productType": core.product_type,
                "tags": core.tags, "status": "ACTIVE", "createdAt": iso(st.created), "updatedAt": iso(st.updated),
                "totalInventory": st.variants.iter().map(|v| v.inventory).sum::<i64>(),
            })];
            for (i, (v, s)) in core.variants.iter().zip(&st.variants).enumerate() {
                let opts: Vec<Value> = core
                    .option_names
                    .iter()
                    .zip(&v.options)
                    .map(|(n, o)| json!({ "name": n, "value": o }))
                    .collect();
                docs.push(json!({
                    "id": gid("ProductVariant", variant_id(seq, i)), "title": v.title, "sku": v.sku,
                    "price": money(s.price), "compareAtPrice": s.compare_at.map(money),
                    "inventoryQuantity": s.inventory, "selectedOptions": opts, "__parentId": parent,
                }));
            }
            for m in &core.media {
                docs.push(json!({
                    "id": gid("MediaImage", 31_000_000_000_000 + seq * 16 + m.n), "mediaContentType": "IMAGE",
                    "alt": core.title, "image": { "url": media_path(seq, m), "width": m.width, "height": m.height },
                    "__parentId": parent,
                }));
            }
            for d in &docs {
                line.clear();
                serde_json::to_writer(&mut line, d)?;
                line.push(b'\n');
                w.write_all(&line)
                    .with_context(|| format!("write {}", path.display()))?;
                stats.bytes_written += line.len() as u64;
            }
        }
        w.flush()
            .with_context(|| format!("write {}", path.display()))?;
        stats.files_written += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{DefaultHasher, Hash, Hasher};
    use std::time::SystemTime;

    fn small(seed: u64) -> StoreParams {
        StoreParams {
            products: 40,
            customers: 20,
            orders_per_day: 4,
            media_per_product: 0.3,
            seed,
            edit_rate: 0.1,
            add_rate: 0.05,
            delete_rate: 0.05,
            customer_edit_rate: 0.1,
            theme_edit_every_days: 1,
        }
    }

    /// Relative path -> (content hash, mtime) of every file under `root`.
    fn tree(root: &Path) -> Result<BTreeMap<PathBuf, (u64, SystemTime)>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let mut h = DefaultHasher::new();
                fs::read(&path)
                    .with_context(|| format!("read {}", path.display()))?
                    .hash(&mut h);
                let mtime = fs::metadata(&path)?.modified()?;
                out.insert(path.strip_prefix(root)?.to_path_buf(), (h.finish(), mtime));
            }
        }
        Ok(out)
    }

    fn hashes(root: &Path) -> Result<BTreeMap<PathBuf, u64>> {
        Ok(tree(root)?.into_iter().map(|(p, (h, _))| (p, h)).collect())
    }

    #[test]
    fn same_seed_gives_identical_trees() -> Result<()> {
        let (a, b, c) = (
            tempfile::tempdir()?,
            tempfile::tempdir()?,
            tempfile::tempdir()?,
        );
        let (mut ga, mut gb) = (StoreGenerator::new(small(7)), StoreGenerator::new(small(7)));
        assert_eq!(ga.write_initial(a.path())?, gb.write_initial(b.path())?);
        let initial = hashes(a.path())?;
        assert_eq!(initial, hashes(b.path())?);
        for _ in 0..3 {
            assert_eq!(ga.advance_day(a.path())?, gb.advance_day(b.path())?);
        }
        assert_eq!(ga.day(), 3);
        assert_eq!(hashes(a.path())?, hashes(b.path())?);
        assert_ne!(hashes(a.path())?, initial);
        StoreGenerator::new(small(8)).write_initial(c.path())?;
        assert_ne!(hashes(c.path())?, initial);
        Ok(())
    }

    #[test]
    fn advance_day_rewrites_only_the_expected_files() -> Result<()> {
        let params = StoreParams {
            products: 2000,
            customers: 50,
            orders_per_day: 3,
            media_per_product: 0.0,
            theme_edit_every_days: 1,
            ..StoreParams::default()
        };
        let dir = tempfile::tempdir()?;
        let mut g = StoreGenerator::new(params.clone());
        assert!(g.advance_day(dir.path()).is_err());
        g.write_initial(dir.path())?;
        let before = tree(dir.path())?;
        let stats = g.advance_day(dir.path())?;
        let after = tree(dir.path())?;
        let in_dir = |p: &Path, d: &str| p.starts_with(d);
        let changed = |d: &str| {
            before
                .iter()
                .filter(|(p, (h, _))| in_dir(p, d) && after.get(*p).is_some_and(|a| a.0 != *h))
                .count()
        };
        let added = |d: &str| {
            after
                .keys()
                .filter(|p| in_dir(p, d) && !before.contains_key(*p))
                .count()
        };
        let removed = before
            .keys()
            .filter(|p| in_dir(p, "products") && !after.contains_key(*p))
            .count();
        let n = params.products as f64;
        let near = |got: usize, want: f64| (got as f64 - want).abs() <= 2.0;
        assert!(
            near(changed("products"), n * params.edit_rate),
            "edited {}",
            changed("products")
        );
        assert!(
            near(added("products"), n * params.add_rate),
            "added {}",
            added("products")
        );
        assert!(near(removed, n * params.delete_rate), "removed {removed}");
        assert_eq!(stats.files_deleted, removed);
        assert_eq!(added("orders"), params.orders_per_day);
        assert_eq!(changed("theme"), 1);
        assert!(changed("customers") <= 3);
        assert_eq!(changed("products.jsonl"), 1);
        // Files whose content did not change were not rewritten.
        for (p, (h, mtime)) in &before {
            if let Some((h2, mtime2)) = after.get(p) {
                if h == h2 && !p.starts_with("products.jsonl") {
                    assert_eq!(mtime, mtime2, "{} was rewritten", p.display());
                }
            }
        }
        let files = after.keys().filter(|p| in_dir(p, "products")).count();
        assert_eq!(files, g.product_paths().len());
        Ok(())
    }

    #[test]
    fn media_files_have_real_magic_bytes() -> Result<()> {
        let params = StoreParams {
            products: 24,
            customers: 4,
            media_per_product: 1.5,
            ..small(11)
        };
        let dir = tempfile::tempdir()?;
        let mut g = StoreGenerator::new(params);
        g.write_initial(dir.path())?;
        let media = tree(&dir.path().join("media"))?;
        assert!(media.len() > 10, "only {} media files", media.len());
        let mut referenced = BTreeSet::new();
        for rel in g.product_paths() {
            let doc: Value = serde_json::from_slice(&fs::read(dir.path().join(rel))?)?;
            for img in doc["images"].as_array().into_iter().flatten() {
                referenced.insert(PathBuf::from(img["src"].as_str().unwrap_or_default()));
            }
        }
        for p in media.keys() {
            assert!(
                referenced.contains(&Path::new("media").join(p)),
                "{} unreferenced",
                p.display()
            );
            let bytes = fs::read(dir.path().join("media").join(p))?;
            assert!(
                (30 << 10..=3 << 20).contains(&bytes.len()),
                "size {}",
                bytes.len()
            );
            match p.extension().and_then(|e| e.to_str()) {
                Some("jpg") => assert!(bytes.starts_with(b"\xFF\xD8\xFF\xE0\x00\x10JFIF\0")),
                Some("png") => {
                    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"));
                }
                Some("webp") => {
                    assert!(bytes.starts_with(b"RIFF") && &bytes[8..16] == b"WEBPVP8 ");
                    let riff = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
                    assert_eq!(riff as usize, bytes.len() - 8);
                }
                other => panic!("unexpected media extension {other:?}"),
            }
        }
        assert_eq!(referenced.len(), media.len());
        Ok(())
    }

    #[test]
    fn jsonl_has_one_product_line_per_product() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut g = StoreGenerator::new(small(3));
        g.write_initial(dir.path())?;
        g.advance_day(dir.path())?;
        g.advance_day(dir.path())?;
        let text = fs::read_to_string(dir.path().join("products.jsonl"))?;
        let mut products = Vec::new();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line)?;
            let id = v["id"].as_str().unwrap_or_default().to_string();
            match v.get("__parentId").and_then(Value::as_str) {
                None => products.push(id.rsplit('/').next().unwrap_or_default().to_string()),
                Some(parent) => assert!(products
                    .last()
                    .is_some_and(|p| parent.ends_with(&format!("/{p}")))),
            }
        }
        let expected: Vec<String> = g
            .product_paths()
            .iter()
            .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(String::from))
            .collect();
        assert_eq!(products, expected);
        let on_disk = fs::read_dir(dir.path().join("products"))?.count();
        assert_eq!(on_disk, expected.len());
        Ok(())
    }
}
