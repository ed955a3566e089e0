//! `productSet` with replace semantics: the input is the whole product; list fields (options,
//! variants, metafields, collections, files) replace what was there, scalars left out are kept.
//! A handle that no product has creates a new product with a new ID. Without `files` the media
//! are left as they are; with it they become the listed ones (see `files_set`).

use crate::exec::{parse_gid, GqlError};
use crate::files_set;
use crate::gql::Field;
use crate::handles::slug;
use crate::input::{list, str_field};
use crate::model::*;
use crate::outcome::Done;
use crate::resolve::access_denied;
use crate::state::State;
use crate::user_errors::{path, user_error};
use serde_json::{json, Map, Value};

/// `[{namespace, key, type, value}]` → metafields, keeping the IDs of those already there.
fn metafields(input: &[Value], old: &[Metafield], ids: &mut IdAllocator) -> Vec<Metafield> {
    input
        .iter()
        .map(|m| {
            let namespace = str_field(m, "namespace").unwrap_or_else(|| "custom".into());
            let key = str_field(m, "key").unwrap_or_default();
            let existing = old
                .iter()
                .find(|o| o.namespace == namespace && o.key == key);
            Metafield {
                id: existing.map_or_else(|| ids.next(Kind::Metafield), |o| o.id),
                type_name: str_field(m, "type")
                    .or_else(|| existing.map(|o| o.type_name.clone()))
                    .unwrap_or_else(|| "single_line_text_field".into()),
                value: match m.get("value") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
                namespace,
                key,
            }
        })
        .collect()
}

pub(crate) fn product_set(
    state: &mut State,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Done, GqlError> {
    if state.denied.contains("write_products") {
        return Err(access_denied("productSet", "write_products"));
    }
    let Some(input) = f.arg("input", vars).filter(Value::is_object) else {
        return Err(GqlError::new(
            "Variable $input of type ProductSetInput! was provided invalid value",
            Some("INVALID_VARIABLE"),
        ));
    };
    let identifier = f.arg("identifier", vars).unwrap_or(Value::Null);
    let fail = |field: &[&str], message: String, code: &str| {
        Ok(Done::ProductSet(
            None,
            vec![user_error(path(field), message, code)],
        ))
    };
    let store = &mut state.store;
    let by_id = identifier
        .get("id")
        .or_else(|| input.get("id"))
        .filter(|v| !v.is_null());
    let target = if let Some(id) = by_id {
        match parse_gid("Product", id).filter(|id| store.products.contains_key(id)) {
            Some(id) => Some(id),
            None => {
                return fail(
                    &["identifier", "id"],
                    "Product does not exist".into(),
                    "PRODUCT_DOES_NOT_EXIST",
                )
            }
        }
    } else if let Some(handle) = identifier.get("handle").and_then(Value::as_str) {
        store.product_by_handle(handle).map(|p| p.id)
    } else {
        None
    };
    let old = target.and_then(|id| store.products.get(&id)).cloned();
    let current = old.as_ref().map(|p| p.media.clone()).unwrap_or_default();
    let files = match list(&input, "files") {
        None => None,
        Some(files) => match files_set::plan(&files, &current, store, &state.staged, &state.base) {
            Ok(actions) => Some(actions),
            Err(errors) => return Ok(Done::ProductSet(None, errors)),
        },
    };
    let title = str_field(&input, "title")
        .or_else(|| old.as_ref().map(|p| p.title.clone()))
        .unwrap_or_default();
    if title.trim().is_empty() {
        return fail(&["input", "title"], "Title can't be blank".into(), "BLANK");
    }
    let handle = str_field(&input, "handle")
        .or_else(|| old.as_ref().map(|p| p.handle.clone()))
        .or_else(|| {
            identifier
                .get("handle")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(|| slug(&title));
    if store
        .products
        .values()
        .any(|p| p.handle == handle && Some(p.id) != target)
    {
        return fail(
            &["input", "handle"],
            format!("Handle '{handle}' already in use. Please provide a new handle."),
            "HANDLE_NOT_UNIQUE",
        );
    }
    let status = str_field(&input, "status")
        .or_else(|| old.as_ref().map(|p| p.status.clone()))
        .unwrap_or_else(|| "ACTIVE".into());
    if !matches!(status.as_str(), "ACTIVE" | "DRAFT" | "ARCHIVED") {
        return fail(
            &["input", "status"],
            format!("Status '{status}' is not valid"),
            "INVALID_INPUT",
        );
    }
    let mut collections = old
        .as_ref()
        .map(|p| p.collections.clone())
        .unwrap_or_default();
    if let Some(list) = list(&input, "collections") {
        collections.clear();
        for c in &list {
            match parse_gid("Collection", c).and_then(|id| store.collections.get(&id)) {
                // Members of smart collections follow from their rules: skipped.
                Some(col) if col.rule_set.is_some() => {}
                Some(col) => collections.push(col.id),
                None => {
                    return fail(
                        &["input", "collections"],
                        format!("Collection {c} does not exist"),
                        "INVALID_INPUT",
                    )
                }
            }
        }
        collections.dedup();
    }
    // Options: given, or derived from the variants' option values, or kept.
    let variants_in = list(&input, "variants");
    let mut option_specs: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(opts) = list(&input, "productOptions") {
        for o in &opts {
            let values = list(o, "values")
                .unwrap_or_default()
                .iter()
                .filter_map(|v| str_field(v, "name").or_else(|| v.as_str().map(String::from)))
                .collect();
            option_specs.push((str_field(o, "name").unwrap_or_default(), values));
        }
    } else if let Some(vs) = &variants_in {
        for v in vs {
            for ov in list(v, "optionValues").unwrap_or_default() {
                let (name, value) = (
                    str_field(&ov, "optionName").unwrap_or_default(),
                    str_field(&ov, "name").unwrap_or_default(),
                );
                match option_specs.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, values)) if !values.contains(&value) => values.push(value),
                    Some(_) => {}
                    None => option_specs.push((name, vec![value])),
                }
            }
        }
    } else if let Some(p) = &old {
        option_specs = p
            .options
            .iter()
            .map(|o| (o.name.clone(), o.values.clone()))
            .collect();
    }
    if option_specs.is_empty() {
        option_specs.push(("Title".into(), vec!["Default Title".into()]));
    }
    let old_options = old.as_ref().map(|p| p.options.clone()).unwrap_or_default();
    let options: Vec<ProductOption> = option_specs
        .iter()
        .enumerate()
        .map(|(i, (name, values))| ProductOption {
            id: old_options
                .iter()
                .find(|o| &o.name == name)
                .map_or_else(|| store.ids.next(Kind::ProductOption), |o| o.id),
            name: name.clone(),
            position: i as u32 + 1,
            values: values.clone(),
        })
        .collect();
    let old_variants = old.as_ref().map(|p| p.variants.clone()).unwrap_or_default();
    let variants = match &variants_in {
        None if !old_variants.is_empty() => old_variants.clone(),
        None => {
            let default = json!({ "optionValues": options.iter().map(|o| json!({"optionName": o.name, "name": o.values.first()})).collect::<Vec<_>>(), "price": "0.00" });
            vec![new_variant(&default, &[], &options, 0, &mut store.ids)
                .map_err(|e| GqlError::new(e, None))?]
        }
        Some(vs) => {
            let mut out = Vec::new();
            for (i, v) in vs.iter().enumerate() {
                match new_variant(v, &old_variants, &options, i, &mut store.ids) {
                    Ok(variant) => out.push(variant),
                    Err(message) => {
                        return fail(
                            &["input", "variants", &i.to_string()],
                            message,
                            "INVALID_VARIANT",
                        )
                    }
                }
            }
            out
        }
    };
    let now = store.now();
    let tags = match input.get("tags") {
        Some(Value::Array(t)) => t
            .iter()
            .filter_map(|x| x.as_str().map(|s| s.trim().to_string()))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => old.as_ref().map(|p| p.tags.clone()).unwrap_or_default(),
    };
    let id = target.unwrap_or_else(|| store.ids.next(Kind::Product));
    // Nothing below fails: the media change now.
    let media = match files {
        Some(actions) => files_set::apply(store, id, &current, actions),
        None => current,
    };
    let keep = |get: &dyn Fn(&Product) -> Option<String>| old.as_ref().and_then(get);
    let seo = input.get("seo");
    let product = Product {
        id,
        handle,
        title,
        description_html: str_field(&input, "descriptionHtml")
            .or_else(|| keep(&|p| Some(p.description_html.clone())))
            .unwrap_or_default(),
        vendor: str_field(&input, "vendor")
            .or_else(|| keep(&|p| Some(p.vendor.clone())))
            .unwrap_or_default(),
        product_type: str_field(&input, "productType")
            .or_else(|| keep(&|p| Some(p.product_type.clone())))
            .unwrap_or_default(),
        published_at: keep(&|p| p.published_at.clone())
            .or_else(|| (status == "ACTIVE").then(|| now.clone())),
        status,
        tags,
        template_suffix: if input.get("templateSuffix").is_some() {
            str_field(&input, "templateSuffix")
        } else {
            keep(&|p| p.template_suffix.clone())
        },
        seo_title: match seo {
            Some(s) if s.is_object() => str_field(s, "title"),
            _ => keep(&|p| p.seo_title.clone()),
        },
        seo_description: match seo {
            Some(s) if s.is_object() => str_field(s, "description"),
            _ => keep(&|p| p.seo_description.clone()),
        },
        created_at: keep(&|p| Some(p.created_at.clone())).unwrap_or_else(|| now.clone()),
        updated_at: now,
        options,
        variants,
        media,
        metafields: match list(&input, "metafields") {
            Some(m) => metafields(
                &m,
                old.as_ref().map_or(&[][..], |p| &p.metafields),
                &mut store.ids,
            ),
            None => old
                .as_ref()
                .map(|p| p.metafields.clone())
                .unwrap_or_default(),
        },
        collections: collections.clone(),
    };
    let before = old.map(|p| p.collections).unwrap_or_default();
    for c in before.iter().filter(|c| !collections.contains(c)) {
        if let Some(col) = store.collections.get_mut(c) {
            col.products.retain(|p| *p != id);
        }
    }
    for c in collections.iter().filter(|c| !before.contains(c)) {
        if let Some(col) = store.collections.get_mut(c) {
            if !col.products.contains(&id) {
                col.products.push(id);
            }
        }
    }
    store.products.insert(id, product);
    Ok(Done::ProductSet(Some(id), Vec::new()))
}

/// A variant from `ProductVariantSetInput`, keeping the ID of the old variant with the same ID or
/// the same option values.
fn new_variant(
    v: &Value,
    old: &[Variant],
    options: &[ProductOption],
    i: usize,
    ids: &mut IdAllocator,
) -> Result<Variant, String> {
    let mut selected = Vec::new();
    for ov in list(v, "optionValues").unwrap_or_default() {
        let name = str_field(&ov, "optionName").unwrap_or_default();
        let value = str_field(&ov, "name").unwrap_or_default();
        if !options
            .iter()
            .any(|o| o.name == name && o.values.contains(&value))
        {
            return Err(format!(
                "Option value '{value}' of option '{name}' does not exist"
            ));
        }
        selected.push(SelectedOption { name, value });
    }
    if selected.is_empty() {
        selected = options
            .iter()
            .map(|o| SelectedOption {
                name: o.name.clone(),
                value: o.values.first().cloned().unwrap_or_default(),
            })
            .collect();
    }
    let price_text = match v.get("price") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0.00".into(),
    };
    let price =
        parse_money(&price_text).ok_or_else(|| format!("Price '{price_text}' is invalid"))?;
    let compare_at = match v.get("compareAtPrice") {
        Some(Value::String(s)) => {
            Some(money(parse_money(s).ok_or_else(|| {
                format!("Compare-at price '{s}' is invalid")
            })?))
        }
        Some(Value::Number(n)) => Some(money(
            parse_money(&n.to_string()).ok_or("Compare-at price is invalid")?,
        )),
        _ => None,
    };
    let existing = v
        .get("id")
        .and_then(|id| parse_gid("ProductVariant", id))
        .and_then(|id| old.iter().find(|o| o.id == id))
        .or_else(|| old.iter().find(|o| o.selected_options == selected));
    let quantity = list(v, "inventoryQuantities").and_then(|q| {
        q.iter()
            .find(|e| {
                e.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(|n| n == "available")
            })
            .and_then(|e| e.get("quantity"))
            .and_then(Value::as_i64)
    });
    let variant_metafields = match list(v, "metafields") {
        Some(m) => metafields(&m, existing.map_or(&[][..], |e| &e.metafields), ids),
        None => existing.map(|e| e.metafields.clone()).unwrap_or_default(),
    };
    Ok(Variant {
        id: existing.map_or_else(|| ids.next(Kind::Variant), |e| e.id),
        title: selected
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>()
            .join(" / "),
        sku: str_field(v, "sku")
            .or_else(|| v.get("inventoryItem").and_then(|ii| str_field(ii, "sku")))
            .or_else(|| existing.map(|e| e.sku.clone()))
            .unwrap_or_default(),
        barcode: str_field(v, "barcode").or_else(|| existing.and_then(|e| e.barcode.clone())),
        price: money(price),
        compare_at_price: compare_at,
        inventory_quantity: quantity
            .or_else(|| existing.map(|e| e.inventory_quantity))
            .unwrap_or(0),
        inventory_item_id: existing
            .map_or_else(|| ids.next(Kind::InventoryItem), |e| e.inventory_item_id),
        position: v
            .get("position")
            .and_then(Value::as_u64)
            .map_or(i as u32 + 1, |p| p as u32),
        taxable: v
            .get("taxable")
            .and_then(Value::as_bool)
            .or_else(|| existing.map(|e| e.taxable))
            .unwrap_or(true),
        inventory_policy: str_field(v, "inventoryPolicy")
            .or_else(|| existing.map(|e| e.inventory_policy.clone()))
            .unwrap_or_else(|| "DENY".into()),
        metafields: variant_metafields,
        selected_options: selected,
    })
}
