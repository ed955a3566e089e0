//! A backed-up product record turned into `productSet`'s input: the complete product, because
//! the mutation replaces every list field (variants, metafields, collections, files) with what it
//! is sent. IDs of other items go through the map of IDs that restores changed.

use super::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Old GIDs to the GIDs restores gave the same items.
pub type IdMap = BTreeMap<String, String>;

/// Replaces every old GID the map knows inside a metafield value (reference metafields hold
/// GIDs, alone or in a JSON list).
pub(super) fn remap_text(value: &str, ids: &IdMap) -> String {
    let mut out = value.to_string();
    for (old, new) in ids {
        if out.contains(old.as_str()) {
            out = out.replace(old.as_str(), new);
        }
    }
    out
}

/// Metafields as mutations take them (namespace, key, type, value), GIDs in values mapped.
pub(super) fn metafields(list: Option<&Value>, ids: &IdMap) -> Value {
    let items = list.and_then(Value::as_array).into_iter().flatten();
    Value::Array(
        items
            .map(|m| {
                json!({
                    "namespace": m.get("namespace"),
                    "key": m.get("key"),
                    "type": m.get("type"),
                    "value": m.get("value").and_then(Value::as_str).map(|v| remap_text(v, ids)),
                })
            })
            .collect(),
    )
}

/// Copies the fields that are present (a field the record lacks is left as the store has it).
fn copy(from: &Value, to: &mut Map<String, Value>, fields: &[&str]) {
    for f in fields {
        if let Some(v) = from.get(*f) {
            to.insert((*f).to_string(), v.clone());
        }
    }
}

/// The `ProductSetInput` for `record`. `collections` are the GIDs (already mapped) of the manual
/// collections to join; `files` the media entries (`{id}` to keep, `{originalSource, ...}` to
/// upload).
pub fn product_set_input(
    record: &Value,
    ids: &IdMap,
    collections: Vec<String>,
    files: Vec<Value>,
) -> Result<Value> {
    let what = "building the product to restore";
    let mut input = Map::new();
    copy(
        record,
        &mut input,
        &[
            "title",
            "handle",
            "descriptionHtml",
            "vendor",
            "productType",
            "status",
            "tags",
            "templateSuffix",
        ],
    );
    if input.get("handle").and_then(Value::as_str).is_none() {
        return Err(Error::protocol(what, "the backed-up product has no handle"));
    }
    if let Some(seo) = record.get("seo").filter(|s| s.is_object()) {
        input.insert(
            "seo".into(),
            json!({"title": seo.get("title"), "description": seo.get("description")}),
        );
    }
    let options: Vec<Value> = record
        .get("options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| {
            let values: Vec<Value> = o
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| json!({ "name": v }))
                .collect();
            json!({"name": o.get("name"), "position": o.get("position"), "values": values})
        })
        .collect();
    input.insert("productOptions".into(), Value::Array(options));
    let mut variants = Vec::new();
    for v in record
        .get("variants")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut out = Map::new();
        copy(
            v,
            &mut out,
            &[
                "price",
                "compareAtPrice",
                "sku",
                "barcode",
                "taxable",
                "inventoryPolicy",
                "position",
            ],
        );
        let option_values: Vec<Value> = v
            .get("selectedOptions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|o| json!({"optionName": o.get("name"), "name": o.get("value")}))
            .collect();
        out.insert("optionValues".into(), Value::Array(option_values));
        out.insert("metafields".into(), metafields(v.get("metafields"), ids));
        variants.push(Value::Object(out));
    }
    input.insert("variants".into(), Value::Array(variants));
    input.insert(
        "metafields".into(),
        metafields(record.get("metafields"), ids),
    );
    input.insert(
        "collections".into(),
        Value::Array(collections.into_iter().map(Value::String).collect()),
    );
    input.insert("files".into(), Value::Array(files));
    Ok(Value::Object(input))
}

/// The MIME type of a media original, by its file name.
pub fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "glb" => "model/gltf-binary",
        "usdz" => "model/vnd.usdz+zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_is_the_complete_product_with_ids_remapped() {
        let record = json!({
            "id": "gid://shopify/Product/1", "handle": "mug", "title": "Mug", "status": "ACTIVE",
            "tags": ["a"], "updatedAt": "x", "seo": {"title": null, "description": "d"},
            "options": [{"id": "gid://shopify/ProductOption/3", "name": "Size", "position": 1, "values": ["S", "M"]}],
            "variants": [{"id": "gid://shopify/ProductVariant/2", "sku": "S1", "price": "9.00",
                "selectedOptions": [{"name": "Size", "value": "S"}], "inventoryQuantity": 4,
                "metafields": []}],
            "metafields": [{"id": "gid://shopify/Metafield/9", "namespace": "custom", "key": "pair",
                "type": "product_reference", "value": "gid://shopify/Product/77"}],
        });
        let mut ids = IdMap::new();
        ids.insert(
            "gid://shopify/Product/77".into(),
            "gid://shopify/Product/78".into(),
        );
        let input = product_set_input(
            &record,
            &ids,
            vec!["gid://shopify/Collection/5".into()],
            vec![],
        )
        .unwrap();
        assert_eq!(input["handle"], "mug");
        assert!(input.get("id").is_none() && input.get("updatedAt").is_none());
        assert_eq!(
            input["productOptions"][0]["values"],
            json!([{"name": "S"}, {"name": "M"}])
        );
        assert_eq!(
            input["variants"][0]["optionValues"],
            json!([{"optionName": "Size", "name": "S"}])
        );
        assert!(input["variants"][0].get("inventoryQuantity").is_none());
        assert_eq!(input["metafields"][0]["value"], "gid://shopify/Product/78");
        assert_eq!(input["collections"], json!(["gid://shopify/Collection/5"]));
        assert_eq!(input["files"], json!([]));
        assert!(product_set_input(&json!({"title": "x"}), &ids, vec![], vec![]).is_err());
    }
}
