//! `collectionCreate`, `collectionUpdate`, `collectionAddProducts` and
//! `collectionRemoveProducts`. Their user errors are Shopify's plain `UserError` (`field`,
//! `message`, no `code`). Membership is set by `products` on create only; afterwards it goes
//! through add/remove. Smart collections (with a rule set) hold no listed members.

use crate::exec::{parse_gid, GqlError};
use crate::gql::Field;
use crate::handles::{slug, unique_handle};
use crate::input::{list, str_field};
use crate::model::*;
use crate::restore::{
    done_job, has, id_arg, input_metafields, invalid_input, object_arg, plain_err, redirect_handle,
    Restored, Target,
};
use serde_json::{Map, Value};

const SORT_ORDERS: &[&str] = &[
    "ALPHA_ASC",
    "ALPHA_DESC",
    "BEST_SELLING",
    "CREATED",
    "CREATED_DESC",
    "MANUAL",
    "PRICE_ASC",
    "PRICE_DESC",
];
const COLUMNS: &[&str] = &[
    "TAG",
    "TITLE",
    "TYPE",
    "VENDOR",
    "VARIANT_PRICE",
    "VARIANT_COMPARE_AT_PRICE",
    "VARIANT_WEIGHT",
    "VARIANT_INVENTORY",
    "VARIANT_TITLE",
    "IS_PRICE_REDUCED",
    "PRODUCT_TAXONOMY_NODE_ID",
    "PRODUCT_CATEGORY_ID",
    "PRODUCT_METAFIELD_DEFINITION",
    "VARIANT_METAFIELD_DEFINITION",
];
const RELATIONS: &[&str] = &[
    "CONTAINS",
    "ENDS_WITH",
    "EQUALS",
    "GREATER_THAN",
    "IS_NOT_SET",
    "IS_SET",
    "LESS_THAN",
    "NOT_CONTAINS",
    "NOT_EQUALS",
    "STARTS_WITH",
];

const INPUT: &str = "CollectionInput!";

/// The `ruleSet` of an input: `Ok(None)` when absent or null.
fn rule_set(input: &Value) -> Result<Option<RuleSet>, GqlError> {
    let Some(rs) = input.get("ruleSet").filter(|v| v.is_object()) else {
        return Ok(None);
    };
    let mut rules = Vec::new();
    for (i, r) in list(rs, "rules").unwrap_or_default().iter().enumerate() {
        let column = str_field(r, "column").unwrap_or_default();
        let relation = str_field(r, "relation").unwrap_or_default();
        if !COLUMNS.contains(&column.as_str()) {
            return Err(invalid_input(
                INPUT,
                &format!(
                    "ruleSet.rules.{i}.column (Expected \"{column}\" to be one of: {})",
                    COLUMNS.join(", ")
                ),
            ));
        }
        if !RELATIONS.contains(&relation.as_str()) {
            return Err(invalid_input(
                INPUT,
                &format!(
                    "ruleSet.rules.{i}.relation (Expected \"{relation}\" to be one of: {})",
                    RELATIONS.join(", ")
                ),
            ));
        }
        rules.push(CollectionRule {
            column,
            relation,
            condition: str_field(r, "condition").unwrap_or_default(),
        });
    }
    Ok(Some(RuleSet {
        applied_disjunctively: rs
            .get("appliedDisjunctively")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        rules,
    }))
}

fn sort_order(input: &Value) -> Result<Option<String>, GqlError> {
    match str_field(input, "sortOrder") {
        Some(s) if !SORT_ORDERS.contains(&s.as_str()) => Err(invalid_input(
            INPUT,
            &format!(
                "sortOrder (Expected \"{s}\" to be one of: {})",
                SORT_ORDERS.join(", ")
            ),
        )),
        other => Ok(other),
    }
}

/// Product IDs of a list argument: malformed GIDs are a GraphQL error; IDs of products that
/// don't exist are dropped; duplicates go.
fn product_ids(store: &Store, ids: &[Value], what: &str) -> Result<Vec<u64>, GqlError> {
    let mut out = Vec::new();
    for v in ids {
        let Some(id) = parse_gid("Product", v) else {
            return Err(GqlError::new(
                format!(
                    "Invalid global id '{}' in {what}",
                    v.as_str().unwrap_or(&v.to_string())
                ),
                Some("INVALID_VARIABLE"),
            ));
        };
        if store.products.contains_key(&id) && !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn handle_taken(store: &Store, handle: &str, except: Option<u64>) -> bool {
    store
        .collections
        .values()
        .any(|c| c.handle == handle && Some(c.id) != except)
}

fn seo(input: &Value, key: &str) -> Option<Option<String>> {
    input
        .get("seo")
        .filter(|s| s.is_object())
        .map(|s| str_field(s, key))
}

/// `collectionCreate(input: CollectionInput!)`.
pub(crate) fn create(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let input = object_arg(f, vars, "input", "CollectionInput")?;
    let r = Restored::new("CollectionCreatePayload", "collection", "UserError");
    let rules = rule_set(&input)?;
    let order = sort_order(&input)?;
    let members = product_ids(
        store,
        &list(&input, "products").unwrap_or_default(),
        "products",
    )?;
    let title = str_field(&input, "title").unwrap_or_default();
    let mut errors = Vec::new();
    if title.trim().is_empty() {
        errors.push(plain_err(&["title"], "Title can't be blank"));
    }
    if rules.as_ref().is_some_and(|r| r.rules.is_empty()) {
        errors.push(plain_err(&["ruleSet", "rules"], "Rules can't be blank"));
    }
    if rules.is_some() && has(&input, "products") && !members.is_empty() {
        errors.push(plain_err(
            &["products"],
            "Products can't be added to a smart collection",
        ));
    }
    let handle = match str_field(&input, "handle").filter(|h| !h.is_empty()) {
        Some(h) => {
            if handle_taken(store, &h, None) {
                errors.push(plain_err(
                    &["handle"],
                    format!("Handle '{h}' has already been taken"),
                ));
            }
            h
        }
        None => unique_handle(&slug(&title), |h| handle_taken(store, h, None)),
    };
    let mut ids = store.ids.clone();
    let metafields = match input_metafields(&input, &[], &mut ids, Kind::Metafield, &[]) {
        Ok(m) => m,
        Err((field, message)) => {
            let field: Vec<&str> = field.iter().map(String::as_str).collect();
            errors.push(plain_err(&field, message));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Ok(r.failed(errors));
    }
    store.ids = ids;
    let id = store.ids.next(Kind::Collection);
    let smart = rules.is_some();
    let members = if smart { Vec::new() } else { members };
    for p in &members {
        if let Some(p) = store.products.get_mut(p) {
            p.collections.push(id);
        }
    }
    store.collections.insert(
        id,
        Collection {
            id,
            handle,
            title,
            description_html: str_field(&input, "descriptionHtml").unwrap_or_default(),
            sort_order: order
                .unwrap_or_else(|| if smart { "BEST_SELLING" } else { "MANUAL" }.into()),
            template_suffix: str_field(&input, "templateSuffix").filter(|s| !s.is_empty()),
            updated_at: store.now(),
            rule_set: rules,
            products: members,
            metafields,
            seo_title: seo(&input, "title").flatten(),
            seo_description: seo(&input, "description").flatten(),
        },
    );
    Ok(r.with(Target::Collection(id)))
}

/// `collectionUpdate(input: CollectionInput!)`: fields left out are kept; `products` is refused
/// (membership changes through `collectionAddProducts`/`collectionRemoveProducts`).
pub(crate) fn update(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let input = object_arg(f, vars, "input", "CollectionInput")?;
    let mut r = Restored::new("CollectionUpdatePayload", "collection", "UserError");
    r.job = Some(Value::Null);
    let rules = rule_set(&input)?;
    let order = sort_order(&input)?;
    let Some(old) = input
        .get("id")
        .and_then(|v| parse_gid("Collection", v))
        .and_then(|id| store.collections.get(&id))
        .cloned()
    else {
        return Ok(r.failed(vec![plain_err(&["id"], "Collection does not exist")]));
    };
    let mut errors = Vec::new();
    if has(&input, "products") {
        errors.push(plain_err(
            &["products"],
            "Products can only be set when the collection is created; use collectionAddProducts or collectionRemoveProducts",
        ));
    }
    match (&old.rule_set, &rules) {
        (None, Some(_)) => errors.push(plain_err(
            &["ruleSet"],
            "A custom collection can't become a smart collection",
        )),
        (Some(_), Some(r)) if r.rules.is_empty() => {
            errors.push(plain_err(&["ruleSet", "rules"], "Rules can't be blank"))
        }
        _ => {}
    }
    let title = str_field(&input, "title").unwrap_or_else(|| old.title.clone());
    if title.trim().is_empty() {
        errors.push(plain_err(&["title"], "Title can't be blank"));
    }
    let handle = str_field(&input, "handle")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| old.handle.clone());
    if handle_taken(store, &handle, Some(old.id)) {
        errors.push(plain_err(
            &["handle"],
            format!("Handle '{handle}' has already been taken"),
        ));
    }
    let mut ids = store.ids.clone();
    let metafields = match input_metafields(&input, &old.metafields, &mut ids, Kind::Metafield, &[])
    {
        Ok(m) => m,
        Err((field, message)) => {
            let field: Vec<&str> = field.iter().map(String::as_str).collect();
            errors.push(plain_err(&field, message));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Ok(r.failed(errors));
    }
    store.ids = ids;
    if input.get("redirectNewHandle").and_then(Value::as_bool) == Some(true) {
        redirect_handle(
            store,
            format!("/collections/{}", old.handle),
            format!("/collections/{handle}"),
        );
    }
    let now = store.now();
    let Some(c) = store.collections.get_mut(&old.id) else {
        return Ok(r);
    };
    c.title = title;
    c.handle = handle;
    if let Some(d) = str_field(&input, "descriptionHtml") {
        c.description_html = d;
    }
    if let Some(o) = order {
        c.sort_order = o;
    }
    if has(&input, "templateSuffix") {
        c.template_suffix = str_field(&input, "templateSuffix").filter(|s| !s.is_empty());
    }
    if let Some(t) = seo(&input, "title") {
        c.seo_title = t;
    }
    if let Some(d) = seo(&input, "description") {
        c.seo_description = d;
    }
    if rules.is_some() {
        c.rule_set = rules;
    }
    c.metafields = metafields;
    c.updated_at = now;
    Ok(r.with(Target::Collection(old.id)))
}

/// The manual collection an add/remove names, or the user error.
fn manual(
    store: &Store,
    f: &Field,
    vars: &Map<String, Value>,
    verb: &str,
) -> Result<u64, serde_json::Value> {
    match id_arg(f, vars, "id", "Collection").and_then(|id| store.collections.get(&id)) {
        None => Err(plain_err(&["id"], "Collection does not exist")),
        Some(c) if c.rule_set.is_some() => Err(plain_err(
            &["id"],
            format!("Can't manually {verb} products of a smart collection"),
        )),
        Some(c) => Ok(c.id),
    }
}

/// `collectionAddProducts(id: ID!, productIds: [ID!]!)`: at most 250 products; if any is already
/// in the collection, nothing is added.
pub(crate) fn add_products(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let r = Restored::new("CollectionAddProductsPayload", "collection", "UserError");
    let given = f
        .arg("productIds", vars)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let products = product_ids(store, &given, "productIds")?;
    let id = match manual(store, f, vars, "add") {
        Ok(id) => id,
        Err(e) => return Ok(r.failed(vec![e])),
    };
    if given.len() > 250 {
        return Ok(r.failed(vec![plain_err(
            &["productIds"],
            "The maximum number of products that can be added at once is 250",
        )]));
    }
    let already = store.collections[&id].products.clone();
    if let Some(p) = products.iter().find(|p| already.contains(p)) {
        return Ok(r.failed(vec![plain_err(
            &["productIds"],
            format!("Product gid://shopify/Product/{p} is already in the collection"),
        )]));
    }
    let now = store.now();
    for p in &products {
        if let Some(p) = store.products.get_mut(p) {
            p.collections.push(id);
        }
    }
    if let Some(c) = store.collections.get_mut(&id) {
        c.products.extend(products);
        c.updated_at = now;
    }
    Ok(r.with(Target::Collection(id)))
}

/// `collectionRemoveProducts(id: ID!, productIds: [ID!]!)`: answers a finished `job`.
pub(crate) fn remove_products(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let mut r = Restored {
        payload: "CollectionRemoveProductsPayload",
        object: None,
        job: Some(Value::Null),
        error_type: "UserError",
        errors: Vec::new(),
    };
    let given = f
        .arg("productIds", vars)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let products = product_ids(store, &given, "productIds")?;
    let id = match manual(store, f, vars, "remove") {
        Ok(id) => id,
        Err(e) => return Ok(r.failed(vec![e])),
    };
    let now = store.now();
    for p in &products {
        if let Some(p) = store.products.get_mut(p) {
            p.collections.retain(|c| *c != id);
        }
    }
    if let Some(c) = store.collections.get_mut(&id) {
        c.products.retain(|p| !products.contains(p));
        c.updated_at = now;
    }
    r.job = Some(done_job(
        id ^ (store.now_ts() as u64) ^ products.len() as u64,
    ));
    Ok(r)
}
