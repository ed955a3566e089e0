//! Restores of the records other than products: collections (and the members of a manual one),
//! pages, URL redirects, navigation menus and metaobjects. Each is looked up by its stable key
//! (handle, path, type and handle), then updated, or created with a new ID that goes into the
//! export's ID map. IDs inside a record (a collection's products, a menu item's resource, a
//! reference field) are mapped through it first.

use super::client::{user_errors, AdminClient};
use super::error::{Error, Result};
use super::product_input::{metafields, remap_text as remap, IdMap};
use super::queries::*;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// What restoring one record did: the ID it has in the store now, and a phrase.
pub struct Done {
    /// The ID in the store.
    pub id: String,
    /// `updated ...`, `recreated as ...`.
    pub detail: String,
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn mapped(ids: &IdMap, gid: &str) -> String {
    ids.get(gid).cloned().unwrap_or_else(|| gid.to_string())
}

/// The fields of `from` that are present, copied.
fn pick(from: &Value, fields: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| from.get(*f).map(|v| ((*f).to_string(), v.clone())))
        .collect()
}

/// Runs a mutation and returns its payload, failing on user errors.
fn mutate(client: &AdminClient, what: &str, doc: &str, vars: Value, field: &str) -> Result<Value> {
    let data = client.query(what, doc, vars, 10.0)?;
    let payload = data.get(field).cloned().unwrap_or(Value::Null);
    user_errors(what, &payload)?;
    Ok(payload)
}

fn id_at(what: &str, payload: &Value, pointer: &str) -> Result<String> {
    payload
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::protocol(what, "the mutation returned no ID"))
}

/// The phrase for an update or a creation, noting a new ID.
fn outcome(existed: bool, old: &str, new: &str, ids: &mut IdMap) -> String {
    if existed {
        return format!("updated {new}");
    }
    if old != new && !old.is_empty() {
        ids.insert(old.to_string(), new.to_string());
        return format!("recreated as {new} (was {old})");
    }
    format!("recreated as {new}")
}

/// A collection: its fields, and for a manual one exactly the members it had (those that exist;
/// products restored before it are found through the ID map).
pub fn collection(client: &AdminClient, record: &Value, ids: &mut IdMap) -> Result<Done> {
    let handle = str_of(record, "handle");
    let what = format!("restoring collection {handle}");
    let now = client.query(
        &what,
        COLLECTION_BY_HANDLE,
        json!({ "handle": handle }),
        252.0,
    )?;
    let current = now.get("collectionByIdentifier").filter(|c| !c.is_null());
    let mut input = pick(
        record,
        &[
            "title",
            "handle",
            "descriptionHtml",
            "sortOrder",
            "templateSuffix",
        ],
    );
    if let Some(seo) = record.get("seo").filter(|s| s.is_object()) {
        input.insert(
            "seo".into(),
            json!({"title": seo.get("title"), "description": seo.get("description")}),
        );
    }
    input.insert(
        "metafields".into(),
        metafields(record.get("metafields"), ids),
    );
    let smart = record.get("ruleSet").is_some_and(|r| !r.is_null());
    if smart {
        input.insert("ruleSet".into(), record["ruleSet"].clone());
    }
    let members: Vec<String> = if smart {
        Vec::new()
    } else {
        record
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("id").and_then(Value::as_str))
            .map(|g| mapped(ids, g))
            .collect()
    };
    let old = str_of(record, "id").to_string();
    let Some(current) = current else {
        if !smart {
            input.insert("products".into(), json!(members));
        }
        let p = mutate(
            client,
            &what,
            COLLECTION_CREATE,
            json!({ "input": input }),
            "collectionCreate",
        )?;
        let id = id_at(&what, &p, "/collection/id")?;
        let detail = outcome(false, &old, &id, ids);
        return Ok(Done { id, detail });
    };
    let id = str_of(current, "id").to_string();
    input.insert("id".into(), json!(id));
    mutate(
        client,
        &what,
        COLLECTION_UPDATE,
        json!({ "input": input }),
        "collectionUpdate",
    )?;
    if !smart {
        let have: BTreeSet<&str> = current
            .pointer("/products/nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("id").and_then(Value::as_str))
            .collect();
        let want: BTreeSet<&str> = members.iter().map(String::as_str).collect();
        let add: Vec<&str> = want.difference(&have).copied().collect();
        let remove: Vec<&str> = have.difference(&want).copied().collect();
        if !add.is_empty() {
            let vars = json!({ "id": id, "productIds": add });
            mutate(client, &what, COLLECTION_ADD, vars, "collectionAddProducts")?;
        }
        if !remove.is_empty() {
            let vars = json!({ "id": id, "productIds": remove });
            mutate(
                client,
                &what,
                COLLECTION_REMOVE,
                vars,
                "collectionRemoveProducts",
            )?;
        }
    }
    let detail = outcome(true, &old, &id, ids);
    Ok(Done { id, detail })
}

/// A page, found by handle.
pub fn page(client: &AdminClient, record: &Value, ids: &mut IdMap) -> Result<Done> {
    let handle = str_of(record, "handle");
    let what = format!("restoring page {handle}");
    let q = json!({ "query": format!("handle:'{}'", handle.replace('\'', "")) });
    let now = client.query(&what, PAGE_BY_HANDLE, q, 3.0)?;
    let found = now
        .pointer("/pages/nodes")
        .and_then(Value::as_array)
        .and_then(|n| n.iter().find(|p| str_of(p, "handle") == handle))
        .map(|p| str_of(p, "id").to_string());
    let mut page = pick(
        record,
        &["title", "handle", "body", "isPublished", "templateSuffix"],
    );
    page.insert(
        "metafields".into(),
        metafields(record.get("metafields"), ids),
    );
    let old = str_of(record, "id").to_string();
    let (id, existed) = match found {
        Some(id) => {
            let vars = json!({ "id": id, "page": page });
            mutate(client, &what, PAGE_UPDATE, vars, "pageUpdate")?;
            (id, true)
        }
        None => {
            let p = mutate(
                client,
                &what,
                PAGE_CREATE,
                json!({ "page": page }),
                "pageCreate",
            )?;
            (id_at(&what, &p, "/page/id")?, false)
        }
    };
    let detail = outcome(existed, &old, &id, ids);
    Ok(Done { id, detail })
}

/// A URL redirect, found by its path.
pub fn redirect(client: &AdminClient, record: &Value, ids: &mut IdMap) -> Result<Done> {
    let path = str_of(record, "path");
    let what = format!("restoring the redirect of {path}");
    let q = json!({ "query": format!("path:'{}'", path.replace('\'', "")) });
    let now = client.query(&what, REDIRECT_BY_PATH, q, 3.0)?;
    let found = now
        .pointer("/urlRedirects/nodes")
        .and_then(Value::as_array)
        .and_then(|n| n.iter().find(|r| str_of(r, "path") == path))
        .map(|r| str_of(r, "id").to_string());
    let body = json!({ "path": path, "target": record.get("target") });
    let old = str_of(record, "id").to_string();
    let (id, existed) = match found {
        Some(id) => {
            let vars = json!({ "id": id, "urlRedirect": body });
            mutate(client, &what, REDIRECT_UPDATE, vars, "urlRedirectUpdate")?;
            (id, true)
        }
        None => {
            let vars = json!({ "urlRedirect": body });
            let p = mutate(client, &what, REDIRECT_CREATE, vars, "urlRedirectCreate")?;
            (id_at(&what, &p, "/urlRedirect/id")?, false)
        }
    };
    let detail = outcome(existed, &old, &id, ids);
    Ok(Done { id, detail })
}

/// Menu items as `menuCreate`/`menuUpdate` take them, resources mapped.
fn menu_items(items: Option<&Value>, ids: &IdMap) -> Value {
    Value::Array(
        items
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|i| {
                let mut m = pick(i, &["title", "type", "url", "tags"]);
                if let Some(r) = i.get("resourceId").and_then(Value::as_str) {
                    m.insert("resourceId".into(), json!(mapped(ids, r)));
                }
                m.insert("items".into(), menu_items(i.get("items"), ids));
                Value::Object(m)
            })
            .collect(),
    )
}

/// A navigation menu, found by handle among the store's menus; its items replaced.
pub fn menu(client: &AdminClient, record: &Value, ids: &mut IdMap) -> Result<Done> {
    let handle = str_of(record, "handle");
    let what = format!("restoring menu {handle}");
    let mut found = None;
    let mut after = Value::Null;
    loop {
        let data = client.query(&what, MENUS, json!({ "after": after }), 52.0)?;
        let page = data.get("menus").cloned().unwrap_or(Value::Null);
        for m in page
            .get("nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if str_of(m, "handle") == handle {
                found = Some(str_of(m, "id").to_string());
            }
        }
        let more = page
            .pointer("/pageInfo/hasNextPage")
            .and_then(Value::as_bool)
            == Some(true);
        match page.pointer("/pageInfo/endCursor").and_then(Value::as_str) {
            Some(c) if more && found.is_none() => after = json!(c),
            _ => break,
        }
    }
    let items = menu_items(record.get("items"), ids);
    let title = record.get("title").cloned().unwrap_or(Value::Null);
    let old = str_of(record, "id").to_string();
    let (id, existed) = match found {
        Some(id) => {
            let vars = json!({ "id": id, "title": title, "handle": handle, "items": items });
            mutate(client, &what, MENU_UPDATE, vars, "menuUpdate")?;
            (id, true)
        }
        None => {
            let vars = json!({ "title": title, "handle": handle, "items": items });
            let p = mutate(client, &what, MENU_CREATE, vars, "menuCreate")?;
            (id_at(&what, &p, "/menu/id")?, false)
        }
    };
    let detail = outcome(existed, &old, &id, ids);
    Ok(Done { id, detail })
}

/// A metaobject, upserted by type and handle.
pub fn metaobject(client: &AdminClient, record: &Value, ids: &mut IdMap) -> Result<Done> {
    let (ty, handle) = (str_of(record, "type"), str_of(record, "handle"));
    let what = format!("restoring metaobject {ty}/{handle}");
    let fields: Vec<Value> = record
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| json!({"key": f.get("key"), "value": f.get("value").and_then(Value::as_str).map(|v| remap(v, ids))}))
        .collect();
    let vars =
        json!({ "handle": {"type": ty, "handle": handle}, "metaobject": {"fields": fields} });
    let p = mutate(client, &what, METAOBJECT_UPSERT, vars, "metaobjectUpsert")?;
    let id = id_at(&what, &p, "/metaobject/id")?;
    let old = str_of(record, "id").to_string();
    // An upsert does not say whether it created: a new ID means it did.
    let detail = if id == old {
        format!("updated {id}")
    } else {
        outcome(false, &old, &id, ids)
    };
    Ok(Done { id, detail })
}

/// An article of blog `blog` (its ID as backed up), found by handle in that blog.
pub fn article(client: &AdminClient, blog: u64, record: &Value, ids: &mut IdMap) -> Result<Done> {
    let handle = str_of(record, "handle");
    let what = format!("restoring article {handle}");
    let blog_id = mapped(ids, &format!("gid://shopify/Blog/{blog}"));
    let q = json!({ "query": format!("handle:'{}'", handle.replace('\'', "")) });
    let now = client.query(&what, ARTICLE_BY_HANDLE, q, 7.0)?;
    let found = now
        .pointer("/articles/nodes")
        .and_then(Value::as_array)
        .and_then(|n| {
            n.iter().find(|a| {
                str_of(a, "handle") == handle
                    && a.pointer("/blog/id").and_then(Value::as_str) == Some(blog_id.as_str())
            })
        })
        .map(|a| str_of(a, "id").to_string());
    let mut article = pick(
        record,
        &[
            "title",
            "handle",
            "body",
            "summary",
            "tags",
            "isPublished",
            "templateSuffix",
        ],
    );
    if let Some(name) = record.pointer("/author/name") {
        article.insert("author".into(), json!({ "name": name }));
    }
    article.insert(
        "metafields".into(),
        metafields(record.get("metafields"), ids),
    );
    let old = str_of(record, "id").to_string();
    let (id, existed) = match found {
        Some(id) => {
            let vars = json!({ "id": id, "article": article });
            mutate(client, &what, ARTICLE_UPDATE, vars, "articleUpdate")?;
            (id, true)
        }
        None => {
            article.insert("blogId".into(), json!(blog_id));
            let p = mutate(
                client,
                &what,
                ARTICLE_CREATE,
                json!({ "article": article }),
                "articleCreate",
            )?;
            (id_at(&what, &p, "/article/id")?, false)
        }
    };
    let detail = outcome(existed, &old, &id, ids);
    Ok(Done { id, detail })
}

/// The input a record kind is restored with, for `--dry-run`: the record's fields as they would
/// be sent, IDs mapped.
pub fn preview(kind: &str, record: &Value, ids: &IdMap) -> Value {
    match kind {
        "menus" => json!({"title": record.get("title"), "handle": record.get("handle"),
            "items": menu_items(record.get("items"), ids)}),
        _ => {
            let text = remap(&record.to_string(), ids);
            serde_json::from_str(&text).unwrap_or(Value::Null)
        }
    }
}
