//! The JSON documents and files of the export, as `StoreGenerator` writes them: products,
//! customers, collections, orders, theme files and `products.jsonl`.

use super::seed::{
    day_start, iso, item_rng, month_of, paragraph, pick, slug, ADJECTIVES, DAY, NOUNS,
    TAG_COLLECTION, TAG_ORDER,
};
use super::*;

impl StoreGenerator {
    pub(super) fn product_json(&self, seq: u64, st: &ProductState, core: &ProductCore) -> Value {
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

    pub(super) fn write_product(
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

    pub(super) fn write_customer(
        &self,
        dir: &Path,
        seq: usize,
        stats: &mut DayStats,
    ) -> Result<()> {
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

    pub(super) fn write_collection(
        &self,
        dir: &Path,
        i: usize,
        stats: &mut DayStats,
    ) -> Result<()> {
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

    pub(super) fn write_orders(
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

    pub(super) fn write_theme(&self, dir: &Path, file: usize, stats: &mut DayStats) -> Result<()> {
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
    pub(super) fn write_jsonl(&self, dir: &Path, stats: &mut DayStats) -> Result<()> {
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
