//! `shopify restore`: items of a snapshot put back into the store as they were. Products go
//! through `productSet` keyed by handle, complete (the mutation replaces list fields), with their
//! manual collections and their media (kept when the store still has them, uploaded from the
//! backed-up originals when not); a recreated product's new ID is kept in the export's ID map.
//! Theme files go through `themeFilesUpsert`, 50 a request. Customers and orders are not written
//! back. Every restore appends a line to the export's audit log.

use super::bulk::gid_number;
use super::client::{user_errors, AdminClient};
use super::diff::{export_snapshot, file_in, read_file, ExportSnapshot};
use super::error::{Error, Result};
use super::export::Connection;
use super::media::media_path;
use super::product_input::{mime_of, product_set_input, IdMap};
use super::queries::{PRODUCT_BY_HANDLE, PRODUCT_SET, STAGED_UPLOADS, THEME_FILES_UPSERT};
use super::restore_records as records;
use super::staging::{AUDIT_FILE, IDS_FILE};
use crate::ids::SnapshotId;
use crate::repository::Repository;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What to restore, from which snapshot, into which store.
pub struct RestoreOptions {
    /// The store written to (the snapshot's shop, or another with `--to-shop`).
    pub store: Connection,
    /// The export folder of the shop: its ID map and audit log are kept there.
    pub out: PathBuf,
    /// The snapshot (ID or `latest`).
    pub snapshot: String,
    /// The items, as their files in the export (`products/4211.json`, `themes/12/layout/theme.liquid`).
    pub items: Vec<String>,
    /// Say what would be sent; write nothing to the store.
    pub dry_run: bool,
    /// Who restores, for the audit log.
    pub user: String,
}

/// What happened to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Written to the store.
    Restored,
    /// Would be written (dry run).
    WouldRestore,
    /// The store or the snapshot refused it.
    Failed,
    /// Of a kind that cannot be written back.
    NotRestorable,
}

/// One item's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ItemResult {
    /// The item's file in the export.
    pub item: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why, or what was done (`recreated as gid://shopify/Product/9`).
    pub detail: String,
    /// The item's ID in the store afterwards, when it changed.
    pub new_id: Option<String>,
    /// What was (or would be) sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<Value>,
}

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    /// The snapshot restored from.
    pub snapshot: SnapshotId,
    /// The store written to.
    pub shop: String,
    /// Item by item.
    pub items: Vec<ItemResult>,
    /// Media originals uploaded.
    pub uploads: u64,
}

/// Why customers and orders are not written back.
pub const NOT_RESTORABLE_PEOPLE: &str = "customers and orders are not written back: the Admin API \
     cannot restore them faithfully (orderCreate makes a new order with new numbers, times and \
     totals; passwords and IDs cannot be set); their files stay in every snapshot \
     (`backstock restore SNAPSHOT:PATH --target DIR`)";

/// Restores the items of a snapshot into the store.
pub fn restore(repo: &Repository, opts: &RestoreOptions) -> Result<RestoreReport> {
    let export = export_snapshot(repo, &opts.snapshot)?;
    let client = opts.store.client()?;
    let ids_path = opts.out.join(IDS_FILE);
    let mut ids = load_ids(&ids_path)?;
    let before = ids.clone();
    let mut r = Restorer {
        repo,
        client: &client,
        export: &export,
        dry_run: opts.dry_run,
        uploads: 0,
    };
    let mut results: Vec<ItemResult> = Vec::new();
    let mut themes: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    // Dependencies first: products before the collections that hold them, everything before the
    // menus that point at it.
    let mut order: Vec<&String> = opts.items.iter().collect();
    order.sort_by_key(|i| rank(i));
    let mut seen = BTreeSet::new();
    for item in order {
        if !seen.insert(item.clone()) {
            continue;
        }
        let parts: Vec<&str> = item.split('/').collect();
        match parts.as_slice() {
            ["products", name] if name.ends_with(".json") => {
                results.push(r.product(item, &mut ids));
            }
            ["themes", theme, rest @ ..] if !rest.is_empty() && rest != ["theme.json"] => {
                match theme.parse::<u64>() {
                    Ok(t) => themes
                        .entry(t)
                        .or_default()
                        .push((item.clone(), rest.join("/"))),
                    Err(_) => results.push(failed(item, "not a theme file of the export")),
                }
            }
            ["collections" | "pages" | "redirects" | "menus", name] if name.ends_with(".json") => {
                results.push(r.record(parts[0], item, &mut ids));
            }
            ["metaobjects", _, name] if name.ends_with(".json") => {
                results.push(r.record("metaobjects", item, &mut ids));
            }
            ["blogs", blog, "articles", name] if name.ends_with(".json") => {
                results.push(r.record(&format!("articles:{blog}"), item, &mut ids));
            }
            ["customers", ..] | ["orders", ..] => results.push(ItemResult {
                item: item.clone(),
                outcome: Outcome::NotRestorable,
                detail: NOT_RESTORABLE_PEOPLE.to_string(),
                new_id: None,
                sent: None,
            }),
            _ => results.push(ItemResult {
                item: item.clone(),
                outcome: Outcome::NotRestorable,
                detail: "not written back by this version (products, collections, pages, \
                         articles, redirects, menus, metaobjects and theme files are); the file \
                         stays in the snapshot (`backstock restore SNAPSHOT:PATH`)"
                    .to_string(),
                new_id: None,
                sent: None,
            }),
        }
    }
    for (theme, files) in themes {
        results.extend(r.theme_files(theme, &files));
    }
    let report = RestoreReport {
        snapshot: export.id,
        shop: opts.store.shop.clone(),
        items: results,
        uploads: r.uploads,
    };
    if !opts.dry_run {
        if ids != before {
            save_ids(&ids_path, &ids)?;
        }
        audit(&opts.out.join(AUDIT_FILE), opts, &report)?;
    }
    Ok(report)
}

/// The order items are restored in: what others point at comes first.
fn rank(item: &str) -> u8 {
    match item.split('/').next().unwrap_or("") {
        "products" => 0,
        "collections" => 1,
        "pages" | "blogs" | "metaobjects" => 2,
        "menus" => 3,
        _ => 4,
    }
}

fn failed(item: &str, why: impl Into<String>) -> ItemResult {
    ItemResult {
        item: item.to_string(),
        outcome: Outcome::Failed,
        detail: why.into(),
        new_id: None,
        sent: None,
    }
}

struct Restorer<'a> {
    repo: &'a Repository,
    client: &'a AdminClient,
    export: &'a ExportSnapshot,
    dry_run: bool,
    uploads: u64,
}

impl Restorer<'_> {
    /// A file of the snapshot's export.
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        match file_in(self.repo, self.export, rel)? {
            Some(node) => Ok(Some(read_file(self.repo, &node)?)),
            None => Ok(None),
        }
    }

    fn record_of(&self, rel: &str) -> Result<Option<Value>> {
        let Some(bytes) = self.read(rel)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::InvalidInput(format!("{rel} in the snapshot is not JSON: {e}")))
    }

    /// A record other than a product: `kind` is its folder (`articles:<blog id>` for articles).
    fn record(&mut self, kind: &str, item: &str, ids: &mut IdMap) -> ItemResult {
        let record = match self.record_of(item) {
            Ok(Some(r)) => r,
            Ok(None) => {
                return failed(
                    item,
                    format!("{item} is not in snapshot {}", self.export.id.short()),
                )
            }
            Err(e) => return failed(item, e.to_string()),
        };
        if self.dry_run {
            return ItemResult {
                item: item.to_string(),
                outcome: Outcome::WouldRestore,
                detail: format!(
                    "would write {kind} {}",
                    record
                        .get("handle")
                        .or(record.get("path"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
                new_id: None,
                sent: Some(records::preview(kind, &record, ids)),
            };
        }
        let done = match kind {
            "collections" => records::collection(self.client, &record, ids),
            "pages" => records::page(self.client, &record, ids),
            "redirects" => records::redirect(self.client, &record, ids),
            "menus" => records::menu(self.client, &record, ids),
            "metaobjects" => records::metaobject(self.client, &record, ids),
            k => match k.strip_prefix("articles:").and_then(|b| b.parse().ok()) {
                Some(blog) => records::article(self.client, blog, &record, ids),
                None => return failed(item, "not an item of the export"),
            },
        };
        match done {
            Ok(d) => ItemResult {
                item: item.to_string(),
                outcome: Outcome::Restored,
                new_id: d.detail.starts_with("recreated").then(|| d.id.clone()),
                detail: d.detail,
                sent: None,
            },
            Err(e) => failed(item, e.to_string()),
        }
    }

    fn product(&mut self, item: &str, ids: &mut IdMap) -> ItemResult {
        match self.try_product(item, ids) {
            Ok(r) => r,
            Err(e) => failed(item, e.to_string()),
        }
    }

    fn try_product(&mut self, item: &str, ids: &mut IdMap) -> Result<ItemResult> {
        let Some(record) = self.record_of(item)? else {
            return Ok(failed(
                item,
                format!("{item} is not in snapshot {}", self.export.id.short()),
            ));
        };
        let old_id = record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let handle = record
            .get("handle")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let what = format!("restoring product {handle}");
        let now =
            self.client
                .query(&what, PRODUCT_BY_HANDLE, json!({ "handle": handle }), 252.0)?;
        let current = now.get("productByIdentifier").filter(|p| !p.is_null());
        let current_media: BTreeSet<&str> = current
            .and_then(|p| p.pointer("/media/nodes"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("id").and_then(Value::as_str))
            .collect();
        let collections = self.manual_collections(&record, ids)?;
        let mut files = Vec::new();
        let mut notes = Vec::new();
        for m in record
            .get("media")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let gid = m.get("id").and_then(Value::as_str).unwrap_or("");
            let mapped = ids.get(gid).map(String::as_str).unwrap_or(gid);
            if current_media.contains(mapped) {
                files.push(json!({ "id": mapped }));
            } else if let Some(url) = m.get("embedUrl").and_then(Value::as_str) {
                files.push(json!({"originalSource": url, "contentType": "EXTERNAL_VIDEO", "alt": m.get("alt")}));
            } else {
                match self.upload(m)? {
                    Some(f) => files.push(f),
                    None => notes.push(format!("medium {gid} has no original in the snapshot")),
                }
            }
        }
        let input = product_set_input(&record, ids, collections, files)?;
        if self.dry_run {
            return Ok(ItemResult {
                item: item.to_string(),
                outcome: Outcome::WouldRestore,
                detail: if current.is_some() {
                    "would update"
                } else {
                    "would recreate"
                }
                .to_string(),
                new_id: None,
                sent: Some(input),
            });
        }
        let vars = json!({ "input": input, "identifier": { "handle": handle } });
        let data = self.client.query(&what, PRODUCT_SET, vars, 10.0)?;
        let payload = data.get("productSet").cloned().unwrap_or(Value::Null);
        user_errors(&what, &payload)?;
        let new_id = payload
            .pointer("/product/id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::protocol(&what, "productSet returned no product"))?
            .to_string();
        let changed = new_id != old_id;
        if changed {
            ids.insert(old_id.clone(), new_id.clone());
        }
        let mut detail = match (current.is_some(), changed) {
            (false, true) => format!("recreated as {new_id} (was {old_id})"),
            (false, false) => "recreated".to_string(),
            (true, _) => format!("updated {new_id}"),
        };
        for n in notes {
            detail.push_str("; ");
            detail.push_str(&n);
        }
        Ok(ItemResult {
            item: item.to_string(),
            outcome: Outcome::Restored,
            detail,
            new_id: changed.then_some(new_id),
            sent: None,
        })
    }

    /// The manual collections a product record names, mapped to their current IDs; smart
    /// collections (with rules) take products by their rules and are left out.
    fn manual_collections(&self, record: &Value, ids: &IdMap) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for c in record
            .get("collections")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(gid) = c.get("id").and_then(Value::as_str) else {
                continue;
            };
            let Some(n) = gid_number(gid) else { continue };
            let Some(collection) = self.record_of(&format!("collections/{n}.json"))? else {
                continue;
            };
            if collection.get("ruleSet").is_some_and(|r| !r.is_null()) {
                continue;
            }
            out.push(ids.get(gid).cloned().unwrap_or_else(|| gid.to_string()));
        }
        Ok(out)
    }

    /// Uploads a medium's original from the snapshot; returns its `files` entry.
    fn upload(&mut self, m: &Value) -> Result<Option<Value>> {
        let gid = m.get("id").and_then(Value::as_str).unwrap_or("");
        let (Some(n), Some(url)) = (
            gid_number(gid),
            m.pointer("/originalSource/url").and_then(Value::as_str),
        ) else {
            return Ok(None);
        };
        let rel = media_path(n, url)?;
        let rel = rel.to_string_lossy().into_owned();
        let Some(bytes) = self.read(&rel)? else {
            return Ok(None);
        };
        let name = Path::new(&rel)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let content_type = m
            .get("mediaContentType")
            .and_then(Value::as_str)
            .unwrap_or("IMAGE");
        let alt = m.get("alt").cloned().unwrap_or(Value::Null);
        if self.dry_run {
            return Ok(Some(json!({
                "originalSource": format!("(upload of {rel}, {} bytes)", bytes.len()),
                "contentType": content_type, "alt": alt })));
        }
        let what = format!("uploading {rel}");
        let mime = mime_of(&name);
        let input = json!([{ "filename": name, "mimeType": mime, "resource": content_type,
            "httpMethod": "PUT", "fileSize": bytes.len().to_string() }]);
        let data = self
            .client
            .query(&what, STAGED_UPLOADS, json!({ "input": input }), 10.0)?;
        let payload = data
            .get("stagedUploadsCreate")
            .cloned()
            .unwrap_or(Value::Null);
        user_errors(&what, &payload)?;
        let target = payload
            .pointer("/stagedTargets/0")
            .ok_or_else(|| Error::protocol(&what, "no upload target"))?;
        let (Some(put), Some(resource)) = (
            target.get("url").and_then(Value::as_str),
            target.get("resourceUrl").and_then(Value::as_str),
        ) else {
            return Err(Error::protocol(
                &what,
                "an upload target without url or resourceUrl",
            ));
        };
        self.client.put(&what, put, bytes, mime)?;
        self.uploads += 1;
        Ok(Some(
            json!({"originalSource": resource, "contentType": content_type, "alt": alt, "filename": name}),
        ))
    }

    fn theme_files(&mut self, theme: u64, files: &[(String, String)]) -> Vec<ItemResult> {
        let mut out = Vec::new();
        for batch in files.chunks(50) {
            let mut inputs = Vec::new();
            let mut ready = Vec::new();
            for (item, name) in batch {
                match self.read(item) {
                    Ok(Some(bytes)) => {
                        let body = match String::from_utf8(bytes) {
                            Ok(text) => json!({"type": "TEXT", "value": text}),
                            Err(e) => json!({"type": "BASE64", "value":
                                base64::engine::general_purpose::STANDARD.encode(e.into_bytes())}),
                        };
                        inputs.push(json!({"filename": name, "body": body}));
                        ready.push(item.clone());
                    }
                    Ok(None) => out.push(failed(
                        item,
                        format!("{item} is not in snapshot {}", self.export.id.short()),
                    )),
                    Err(e) => out.push(failed(item, e.to_string())),
                }
            }
            if inputs.is_empty() {
                continue;
            }
            let result = if self.dry_run {
                Ok(())
            } else {
                let what = format!("restoring {} files of theme {theme}", inputs.len());
                let vars = json!({ "themeId": format!("gid://shopify/OnlineStoreTheme/{theme}"), "files": inputs });
                self.client
                    .query(&what, THEME_FILES_UPSERT, vars, 10.0)
                    .and_then(|d| {
                        user_errors(&what, d.get("themeFilesUpsert").unwrap_or(&Value::Null))
                    })
            };
            for (item, input) in ready.iter().zip(&inputs) {
                out.push(match &result {
                    Ok(()) => ItemResult {
                        item: item.clone(),
                        outcome: if self.dry_run {
                            Outcome::WouldRestore
                        } else {
                            Outcome::Restored
                        },
                        detail: format!(
                            "theme {theme} {}",
                            input["filename"].as_str().unwrap_or("")
                        ),
                        new_id: None,
                        sent: self.dry_run.then(|| input.clone()),
                    },
                    Err(e) => failed(item, e.to_string()),
                });
            }
        }
        out
    }
}

fn load_ids(path: &Path) -> Result<IdMap> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Error::InvalidInput(format!("{}: not an ID map: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IdMap::new()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes the map beside itself and renames it in place, so that a crash leaves the old or the
/// new map, never half of one.
fn save_ids(path: &Path, ids: &IdMap) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = super::layout::canonical(&serde_json::to_value(ids).unwrap_or_default());
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Appends the restore's record to the audit log.
fn audit(path: &Path, opts: &RestoreOptions, r: &RestoreReport) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let line = json!({
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "user": opts.user,
        "shop": r.shop,
        "snapshot": r.snapshot,
        "items": r.items.iter().map(|i| json!({"item": i.item, "outcome": i.outcome,
            "detail": i.detail, "new_id": i.new_id})).collect::<Vec<_>>(),
    });
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    writeln!(f, "{line}")
        .and_then(|()| f.sync_data())
        .map_err(|e| Error::io(path, e))
}
