//! `shopify export`: a store into a folder, one file per item, through bulk operations, with
//! media and theme files kept between runs. The new export replaces the previous one only once it
//! is complete (see `staging`).

use super::bulk;
use super::client::{AdminClient, RetryPolicy};
use super::error::{Error, Result};
use super::layout::{canonical, files_of, number_of, ENTITIES, PRODUCT_COLLECTIONS};
use super::media::{sync_file, sync_product_media, MediaCounts};
use super::pages;
use super::queries::SHOP;
use super::staging::Staging;
use super::themes::{export_themes, ThemeCounts, ThemeSelection};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;
use zeroize::Zeroizing;

/// The API version asked for unless another is given.
pub const DEFAULT_API_VERSION: &str = "2026-01";

/// A store and how to reach it.
pub struct Connection {
    /// The shop, `NAME.myshopify.com`.
    pub shop: String,
    /// The Admin API's base URL (default `https://<shop>`).
    pub admin_url: Option<String>,
    /// The API version (`2026-01`).
    pub api_version: String,
    /// The Admin API access token.
    pub token: Zeroizing<String>,
    /// How patiently the store is asked again.
    pub retry: RetryPolicy,
}

impl Connection {
    /// A client for the store, once the shop's name is checked.
    pub(crate) fn client(&self) -> Result<AdminClient> {
        check_shop(&self.shop)?;
        let base = match &self.admin_url {
            Some(u) => u.clone(),
            None => format!("https://{}", self.shop),
        };
        AdminClient::new(
            &base,
            &self.api_version,
            self.token.as_str().to_owned(),
            self.retry.clone(),
        )
    }
}

/// What to export, from where, to where.
pub struct ExportOptions {
    /// The store.
    pub store: Connection,
    /// The export folder (kept between runs).
    pub out: PathBuf,
    /// Which themes to export.
    pub themes: ThemeSelection,
    /// Entities left out (`customers`, `orders`, ...), for tokens without their scopes.
    pub skip: Vec<String>,
}

/// What an export did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ExportReport {
    /// The export folder.
    pub out: PathBuf,
    /// Items written per entity.
    pub items: BTreeMap<String, u64>,
    /// Product media.
    pub media: MediaCounts,
    /// Theme files.
    pub themes: ThemeCounts,
    /// GraphQL requests sent, retries included.
    pub requests: u64,
    /// Other downloads (bulk results, media), retries included.
    pub downloads: u64,
    /// Answers that asked to slow down.
    pub throttled: u64,
    /// Requests tried again after a fault.
    pub retried: u64,
    /// Seconds spent waiting for the rate limit.
    pub rate_limit_wait_seconds: f64,
    /// Seconds in all.
    pub seconds: f64,
}

/// The entities an export can leave out with `skip`.
pub fn entity_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = ENTITIES.iter().map(|e| e.name).collect();
    names.extend(["shop", "themes", "menus", "metaobjects", "locations"]);
    names
}

/// Checks a shop name: `NAME.myshopify.com`, NAME of lowercase letters, digits and dashes.
pub fn check_shop(shop: &str) -> Result<()> {
    let ok = shop.strip_suffix(".myshopify.com").is_some_and(|n| {
        !n.is_empty()
            && n.len() <= 63
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "--shop {shop:?}: expected the store's permanent domain, NAME.myshopify.com (in \
             Shopify's admin: Settings > Domains)"
        )))
    }
}

/// Exports the store. On any error the previous export in `out` is left as it was.
pub fn export(opts: &ExportOptions) -> Result<ExportReport> {
    let client = opts.store.client()?;
    for s in &opts.skip {
        if !entity_names().contains(&s.as_str()) {
            return Err(Error::InvalidInput(format!(
                "--skip {s:?}: not an entity; one of {}",
                entity_names().join(", ")
            )));
        }
    }
    let start = Instant::now();
    let staging = Staging::open(&opts.out)?;
    let mut report = ExportReport {
        out: opts.out.clone(),
        ..Default::default()
    };
    match fill(&client, &staging, opts, &mut report) {
        Ok(()) => {}
        Err(e) => {
            // The error is what the caller needs; a staging tree left behind is removed by the
            // next run.
            let _ = staging.abandon();
            return Err(e);
        }
    }
    let c = &client.counters;
    report.requests = c.requests.load(Ordering::Relaxed);
    report.downloads = c.downloads.load(Ordering::Relaxed);
    report.throttled = c.throttled.load(Ordering::Relaxed);
    report.retried = c.retried.load(Ordering::Relaxed);
    report.rate_limit_wait_seconds = c.waited_ms.load(Ordering::Relaxed) as f64 / 1000.0;
    report.seconds = start.elapsed().as_secs_f64();
    let state = json!({
        "format": 1,
        "shop": opts.store.shop,
        "api_version": opts.store.api_version,
        "exported_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "items": report.items,
        "skipped": opts.skip,
        "themes": match opts.themes { ThemeSelection::All => "all", ThemeSelection::Main => "main", ThemeSelection::None => "none" },
    });
    staging.commit(&canonical(&state))?;
    Ok(report)
}

/// Writes every selected entity into the staging tree.
fn fill(
    client: &AdminClient,
    staging: &Staging,
    opts: &ExportOptions,
    report: &mut ExportReport,
) -> Result<()> {
    let wanted = |name: &str| !opts.skip.iter().any(|s| s == name);
    if wanted("shop") {
        let data = client.query("reading the shop", SHOP, json!({}), 2.0)?;
        let shop = data
            .get("shop")
            .ok_or_else(|| Error::protocol("reading the shop", "no shop in the answer"))?;
        staging.write(Path::new("shop.json"), &canonical(shop))?;
    }
    for entity in ENTITIES.iter().filter(|e| wanted(e.name)) {
        let mut media = MediaCounts::default();
        let mut each = |item: Value| -> Result<()> {
            for (rel, v) in files_of(entity.name, item)? {
                match entity.name {
                    "products" => sync_product_media(client, staging, &rel, &v, &mut media)?,
                    "files" => sync_file(client, staging, &rel, &v, &mut media)?,
                    _ => {}
                }
                staging.write(&rel, &canonical(&v))?;
            }
            Ok(())
        };
        let n = bulk::export(client, entity, &mut each)?;
        report.items.insert(entity.name.to_string(), n);
        report.media.add(&media);
        if entity.name == "products" {
            join_collections(client, staging)?;
        }
    }
    if wanted("menus") {
        let n = pages::export_pages(client, staging, &pages::MENUS)?;
        report.items.insert("menus".to_string(), n);
    }
    if wanted("metaobjects") {
        let (defs, objects) = pages::export_metaobjects(client, staging)?;
        report
            .items
            .insert("metaobject definitions".to_string(), defs);
        report.items.insert("metaobjects".to_string(), objects);
    }
    if wanted("locations") {
        let n = pages::export_pages(client, staging, &pages::LOCATIONS)?;
        report.items.insert("locations".to_string(), n);
    }
    if wanted("themes") {
        report.themes = export_themes(client, staging, &opts.themes)?;
    }
    Ok(())
}

/// Adds to each product file written the collections the product is in. A product created
/// between the two operations has no file yet and is left for the next run.
fn join_collections(client: &AdminClient, staging: &Staging) -> Result<()> {
    let mut each = |item: Value| -> Result<()> {
        let n = number_of("products", &item)?;
        let rel = PathBuf::from(format!("products/{n}.json"));
        // Only products this run wrote; a product created since has no file yet.
        if !staging.listed(&rel) {
            return Ok(());
        }
        let Some(bytes) = staging.read(&rel)? else {
            return Ok(());
        };
        let mut product: Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::protocol("joining collections", format!("{}: {e}", rel.display()))
        })?;
        if let (Some(obj), Some(list)) = (product.as_object_mut(), item.get("collections")) {
            obj.insert("collections".to_string(), list.clone());
        }
        staging.write(&rel, &canonical(&product))
    };
    bulk::export(client, &PRODUCT_COLLECTIONS, &mut each)?;
    Ok(())
}
