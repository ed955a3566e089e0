//! `menuCreate`/`menuUpdate` (items nest at most 3 levels; items linking to a resource need its
//! `resourceId`) and `metaobjectUpsert` (keyed by type and handle; only the fields given
//! change).

use crate::exec::GqlError;
use crate::gql::Field;
use crate::input::{list, str_field};
use crate::model::*;
use crate::resolve_content::resource_url;
use crate::restore::{err, id_arg, Restored, Target};
use serde_json::{json, Map, Value};

const ITEM_TYPES: &[&str] = &[
    "ARTICLE",
    "BLOG",
    "CATALOG",
    "COLLECTION",
    "COLLECTIONS",
    "CUSTOMER_ACCOUNT_PAGE",
    "FRONTPAGE",
    "HTTP",
    "METAOBJECT",
    "PAGE",
    "PRODUCT",
    "SEARCH",
    "SHOP_POLICY",
];

/// The resource type a menu item type links to.
fn resource_type(item_type: &str) -> Option<&'static str> {
    Some(match item_type {
        "ARTICLE" => "Article",
        "BLOG" => "Blog",
        "COLLECTION" => "Collection",
        "METAOBJECT" => "Metaobject",
        "PAGE" => "Page",
        "PRODUCT" => "Product",
        _ => return None,
    })
}

/// The URL of an item type that links to no resource.
fn fixed_url(item_type: &str) -> Option<&'static str> {
    Some(match item_type {
        "FRONTPAGE" => "/",
        "CATALOG" => "/collections/all",
        "COLLECTIONS" => "/collections",
        "SEARCH" => "/search",
        _ => return None,
    })
}

fn ids_in(items: &[MenuItem], out: &mut Vec<u64>) {
    for i in items {
        out.push(i.id);
        ids_in(&i.items, out);
    }
}

/// Builds items from `MenuItemCreateInput`/`MenuItemUpdateInput`s; `reuse` are the IDs an item
/// may keep (the menu's current items).
fn items(
    store: &mut Store,
    input: &[Value],
    path: &mut Vec<String>,
    depth: usize,
    reuse: &[u64],
    errors: &mut Vec<Value>,
) -> Result<Vec<MenuItem>, GqlError> {
    let mut out = Vec::new();
    for (i, v) in input.iter().enumerate() {
        path.push(i.to_string());
        let here = |k: &str| {
            let mut p: Vec<String> = path.clone();
            p.push(k.to_string());
            p
        };
        let push = |errors: &mut Vec<Value>, p: Vec<String>, m: &str, code: Option<&str>| {
            errors.push(json!({ "field": p, "message": m, "code": code }));
        };
        let item_type = str_field(v, "type").unwrap_or_default();
        if !ITEM_TYPES.contains(&item_type.as_str()) {
            return Err(GqlError::new(
                format!("Variable $items of type [MenuItemCreateInput!]! was provided invalid value for {}.type (Expected \"{item_type}\" to be one of: {})", path.join("."), ITEM_TYPES.join(", ")),
                Some("INVALID_VARIABLE"),
            ));
        }
        let title = str_field(v, "title").unwrap_or_default();
        if title.trim().is_empty() {
            push(errors, here("title"), "Title can't be blank", None);
        }
        let resource = str_field(v, "resourceId").filter(|r| !r.is_empty());
        let mut url = str_field(v, "url").filter(|u| !u.is_empty());
        match (resource_type(&item_type), &resource) {
            (Some(_), None) => push(errors, here("resourceId"), "Resource can't be blank", None),
            (Some(ty), Some(r)) => match resource_url(store, r) {
                Some(u) if r.starts_with(&format!("gid://shopify/{ty}/")) => url = Some(u),
                _ => push(
                    errors,
                    here("resourceId"),
                    "The record with the ID used as the input value couldn't be found.",
                    Some("NOT_FOUND"),
                ),
            },
            (None, _) => {
                if let Some(u) = fixed_url(&item_type) {
                    url = Some(u.to_string());
                } else if url.is_none() {
                    push(errors, here("url"), "Url can't be blank", None);
                }
            }
        }
        let nested = list(v, "items").unwrap_or_default();
        let children = if nested.is_empty() {
            Vec::new()
        } else if depth >= 3 {
            push(
                errors,
                here("items"),
                "The menu cannot be nested more than 3 level deep.",
                Some("NESTING_TOO_DEEP"),
            );
            Vec::new()
        } else {
            path.push("items".into());
            let c = items(store, &nested, path, depth + 1, reuse, errors)?;
            path.pop();
            c
        };
        let kept = v
            .get("id")
            .and_then(|id| crate::exec::parse_gid("MenuItem", id))
            .filter(|id| reuse.contains(id));
        out.push(MenuItem {
            id: kept.unwrap_or_else(|| store.ids.next(Kind::MenuItem)),
            title,
            item_type: item_type.clone(),
            url,
            resource_id: resource.filter(|_| resource_type(&item_type).is_some()),
            tags: v
                .get("tags")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            items: children,
        });
        path.pop();
    }
    Ok(out)
}

/// `menuCreate(title: String!, handle: String!, items: [MenuItemCreateInput!]!)` and
/// `menuUpdate(id: ID!, title: String!, handle: String, items: [MenuItemUpdateInput!]!)`: the
/// items replace the menu's; an item given the `id` of one of the menu's items keeps it, others
/// get new IDs. A default menu's handle can't change.
pub(crate) fn menu(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let create = f.name == "menuCreate";
    let r = if create {
        Restored::new("MenuCreatePayload", "menu", "MenuCreateUserError")
    } else {
        Restored::new("MenuUpdatePayload", "menu", "MenuUpdateUserError")
    };
    let old = if create {
        None
    } else {
        match id_arg(f, vars, "id", "Menu").and_then(|id| store.menus.get(&id)) {
            Some(m) => Some(m.clone()),
            None => {
                return Ok(r.failed(vec![err(&["id"], "Menu does not exist", Some("NOT_FOUND"))]))
            }
        }
    };
    let text = |k: &str| f.arg(k, vars).and_then(|v| v.as_str().map(String::from));
    let mut errors = Vec::new();
    let title = text("title").unwrap_or_default();
    if title.trim().is_empty() {
        errors.push(err(&["title"], "Title can't be blank", None));
    }
    let handle = match (text("handle").filter(|h| !h.is_empty()), &old) {
        (Some(h), _) => h,
        (None, Some(m)) => m.handle.clone(),
        (None, None) => {
            errors.push(err(&["handle"], "Handle can't be blank", None));
            String::new()
        }
    };
    if let Some(m) = &old {
        if m.is_default && m.handle != handle {
            errors.push(err(
                &["handle"],
                "The handle of a default menu can't be changed",
                None,
            ));
        }
    }
    let except = old.as_ref().map(|m| m.id);
    if store
        .menus
        .values()
        .any(|m| m.handle == handle && Some(m.id) != except)
    {
        errors.push(err(&["handle"], "Handle has already been taken", None));
    }
    let given = f
        .arg("items", vars)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let mut reuse = Vec::new();
    if let Some(m) = &old {
        ids_in(&m.items, &mut reuse);
    }
    // Nothing changes on errors, not even the IDs handed out.
    let saved = store.ids.clone();
    let built = match items(
        store,
        &given,
        &mut vec!["items".into()],
        1,
        &reuse,
        &mut errors,
    ) {
        Ok(b) => b,
        Err(e) => {
            store.ids = saved;
            return Err(e);
        }
    };
    if !errors.is_empty() {
        store.ids = saved;
        return Ok(r.failed(errors));
    }
    let id = except.unwrap_or_else(|| store.ids.next(Kind::Menu));
    store.menus.insert(
        id,
        Menu {
            id,
            handle,
            title,
            is_default: old.as_ref().is_some_and(|m| m.is_default),
            items: built,
        },
    );
    Ok(r.with(Target::Menu(id)))
}

/// Whether a value suits a field type and its validations; the error message if not.
fn check_value(fd: &MetaobjectFieldDefinition, value: &str) -> Result<(), String> {
    let limit = |name: &str| {
        fd.validations
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.parse::<i64>().ok())
    };
    match fd.type_name.as_str() {
        "single_line_text_field" if value.contains('\n') => {
            return Err("Value must be a single line text string.".into())
        }
        "number_integer" => {
            let n: i64 = value
                .parse()
                .map_err(|_| "Value must be an integer.".to_string())?;
            if limit("min").is_some_and(|m| n < m) {
                return Err(format!(
                    "Value must be greater than or equal to {}.",
                    limit("min").unwrap_or(0)
                ));
            }
            if limit("max").is_some_and(|m| n > m) {
                return Err(format!(
                    "Value must be less than or equal to {}.",
                    limit("max").unwrap_or(0)
                ));
            }
        }
        "url" if !(value.starts_with("http://") || value.starts_with("https://")) => {
            return Err("Value must be a valid URL.".into())
        }
        _ => {}
    }
    if fd.type_name.contains("text") {
        if let Some(max) = limit("max") {
            if value.chars().count() as i64 > max {
                return Err(format!("Value has a maximum length of {max}."));
            }
        }
    }
    Ok(())
}

/// `metaobjectUpsert(handle: MetaobjectHandleInput!, metaobject: MetaobjectUpsertInput!)`:
/// creates the metaobject of that type and handle, or updates the fields given of the one there
/// (an empty value clears a field; `metaobject.handle` renames it).
pub(crate) fn metaobject_upsert(
    store: &mut Store,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Restored, GqlError> {
    let r = Restored::new(
        "MetaobjectUpsertPayload",
        "metaobject",
        "MetaobjectUserError",
    );
    let key = f
        .arg("handle", vars)
        .filter(Value::is_object)
        .ok_or_else(|| {
            GqlError::new(
                "Variable $handle of type MetaobjectHandleInput! was provided invalid value",
                Some("INVALID_VARIABLE"),
            )
        })?;
    let input = crate::restore::object_arg(f, vars, "metaobject", "MetaobjectUpsertInput")?;
    let ty = str_field(&key, "type").unwrap_or_default();
    let handle = str_field(&key, "handle").unwrap_or_default();
    let Some(definition) = store
        .metaobject_definitions
        .values()
        .find(|d| d.type_name == ty)
        .cloned()
    else {
        return Ok(r.failed(vec![err(
            &["handle", "type"],
            format!("No metaobject definition exists for type \"{ty}\""),
            Some("UNDEFINED_OBJECT_TYPE"),
        )]));
    };
    if handle.trim().is_empty() {
        return Ok(r.failed(vec![err(
            &["handle", "handle"],
            "Handle can't be blank",
            Some("BLANK"),
        )]));
    }
    let old = store
        .metaobjects
        .values()
        .find(|m| m.type_name == ty && m.handle == handle)
        .cloned();
    let mut errors = Vec::new();
    let mut values: Vec<MetaobjectField> = definition
        .field_definitions
        .iter()
        .map(|fd| MetaobjectField {
            key: fd.key.clone(),
            value: old
                .as_ref()
                .and_then(|m| m.fields.iter().find(|x| x.key == fd.key))
                .and_then(|x| x.value.clone()),
        })
        .collect();
    let mut seen = Vec::new();
    for (i, field) in list(&input, "fields")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let k = str_field(field, "key").unwrap_or_default();
        let at = ["metaobject".to_string(), "fields".into(), i.to_string()];
        let at: Vec<&str> = at.iter().map(String::as_str).collect();
        let mut e = |message: String, code: &str| {
            let mut v = err(&at, message, Some(code));
            v["elementKey"] = Value::from(k.clone());
            errors.push(v);
        };
        let Some(fd) = definition.field_definitions.iter().find(|fd| fd.key == k) else {
            e(
                format!("Field definition \"{k}\" does not exist"),
                "UNDEFINED_OBJECT_FIELD",
            );
            continue;
        };
        if seen.contains(&k) {
            e(
                format!("Field \"{k}\" is given more than once"),
                "DUPLICATE_FIELD_INPUT",
            );
            continue;
        }
        seen.push(k.clone());
        let value = match field.get("value") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_) | Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        if let Some(v) = &value {
            if let Err(message) = check_value(fd, v) {
                e(message, "INVALID_VALUE");
                continue;
            }
        }
        if let Some(slot) = values.iter_mut().find(|x| x.key == k) {
            slot.value = value;
        }
    }
    for fd in definition.field_definitions.iter().filter(|fd| fd.required) {
        if values.iter().any(|x| x.key == fd.key && x.value.is_none()) {
            let mut v = err(
                &["metaobject", "fields"],
                "Value is required",
                Some("OBJECT_FIELD_REQUIRED"),
            );
            v["elementKey"] = Value::from(fd.key.clone());
            errors.push(v);
        }
    }
    let new_handle = str_field(&input, "handle")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| handle.clone());
    let except = old.as_ref().map(|m| m.id);
    if store
        .metaobjects
        .values()
        .any(|m| m.type_name == ty && m.handle == new_handle && Some(m.id) != except)
    {
        errors.push(err(
            &["metaobject", "handle"],
            "Handle has already been taken",
            Some("TAKEN"),
        ));
    }
    if !errors.is_empty() {
        return Ok(r.failed(errors));
    }
    let now = store.now();
    let id = except.unwrap_or_else(|| store.ids.next(Kind::Metaobject));
    store.metaobjects.insert(
        id,
        Metaobject {
            id,
            handle: new_handle,
            type_name: ty,
            fields: values,
            created_at: old.map_or_else(|| now.clone(), |m| m.created_at),
            updated_at: now,
        },
    );
    Ok(r.with(Target::Metaobject(id)))
}
