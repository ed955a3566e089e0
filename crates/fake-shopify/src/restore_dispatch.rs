//! Dispatch of the restore mutations (described in `restore`): the scope each needs, running one
//! against the store, and a sample payload of each to check a selection before running.

use crate::exec::GqlError;
use crate::gql::Field;
use crate::model::Store;
use crate::resolve::access_denied;
use crate::restore::{done_job, Restored, Target};
use crate::state::State;
use crate::{restore_collections, restore_content, restore_nav};
use serde_json::{json, Map, Value};

/// The scope each restore mutation needs.
fn scope(name: &str) -> Option<&'static str> {
    Some(match name {
        "collectionCreate"
        | "collectionUpdate"
        | "collectionAddProducts"
        | "collectionRemoveProducts" => "write_products",
        "pageCreate" | "pageUpdate" | "articleCreate" | "articleUpdate" => "write_content",
        "urlRedirectCreate" | "urlRedirectUpdate" | "menuCreate" | "menuUpdate" => {
            "write_online_store_navigation"
        }
        "metaobjectUpsert" => "write_metaobjects",
        _ => return None,
    })
}

/// Runs a restore mutation; `None` if `f` is not one.
pub(crate) fn run(
    state: &mut State,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Option<Restored>, GqlError> {
    let Some(scope) = scope(&f.name) else {
        return Ok(None);
    };
    if state.denied.contains(scope) {
        return Err(access_denied(&f.name, scope));
    }
    let store = &mut state.store;
    Ok(Some(match f.name.as_str() {
        "collectionCreate" => restore_collections::create(store, f, vars)?,
        "collectionUpdate" => restore_collections::update(store, f, vars)?,
        "collectionAddProducts" => restore_collections::add_products(store, f, vars)?,
        "collectionRemoveProducts" => restore_collections::remove_products(store, f, vars)?,
        "pageCreate" | "pageUpdate" => restore_content::page(store, f, vars)?,
        "articleCreate" | "articleUpdate" => restore_content::article(store, f, vars)?,
        "urlRedirectCreate" | "urlRedirectUpdate" => restore_content::redirect(store, f, vars)?,
        "menuCreate" | "menuUpdate" => restore_nav::menu(store, f, vars)?,
        "metaobjectUpsert" => restore_nav::metaobject_upsert(store, f, vars)?,
        _ => return Ok(None),
    }))
}

/// A payload with a sample object and a sample error, to check a selection before running.
pub(crate) fn sample(name: &str, store: &Store) -> Option<Restored> {
    let first = |ids: Vec<u64>| ids.first().copied();
    let e = |code: bool| {
        let mut m = json!({ "field": ["x"], "message": "m" });
        if code {
            m["code"] = Value::from("INVALID");
        }
        vec![m]
    };
    let r = match name {
        "collectionCreate" | "collectionUpdate" | "collectionAddProducts" => {
            let payload = match name {
                "collectionCreate" => "CollectionCreatePayload",
                "collectionUpdate" => "CollectionUpdatePayload",
                _ => "CollectionAddProductsPayload",
            };
            let mut r = Restored::new(payload, "collection", "UserError").failed(e(false));
            if name == "collectionUpdate" {
                r.job = Some(Value::Null);
            }
            match first(store.collections.keys().copied().collect()) {
                Some(id) => r.with(Target::Collection(id)),
                None => r,
            }
        }
        "collectionRemoveProducts" => Restored {
            payload: "CollectionRemoveProductsPayload",
            object: None,
            job: Some(done_job(0)),
            error_type: "UserError",
            errors: e(false),
        },
        "pageCreate" | "pageUpdate" => {
            let (payload, ty) = if name == "pageCreate" {
                ("PageCreatePayload", "PageCreateUserError")
            } else {
                ("PageUpdatePayload", "PageUpdateUserError")
            };
            let r = Restored::new(payload, "page", ty).failed(e(true));
            match store.pages.keys().next() {
                Some(id) => r.with(Target::Page(*id)),
                None => r,
            }
        }
        "articleCreate" | "articleUpdate" => {
            let (payload, ty) = if name == "articleCreate" {
                ("ArticleCreatePayload", "ArticleCreateUserError")
            } else {
                ("ArticleUpdatePayload", "ArticleUpdateUserError")
            };
            let r = Restored::new(payload, "article", ty).failed(e(true));
            match store.articles.keys().next() {
                Some(id) => r.with(Target::Article(*id)),
                None => r,
            }
        }
        "urlRedirectCreate" | "urlRedirectUpdate" => {
            let payload = if name == "urlRedirectCreate" {
                "UrlRedirectCreatePayload"
            } else {
                "UrlRedirectUpdatePayload"
            };
            let r = Restored::new(payload, "urlRedirect", "UrlRedirectUserError").failed(e(true));
            match store.redirects.keys().next() {
                Some(id) => r.with(Target::Redirect(*id)),
                None => r,
            }
        }
        "menuCreate" | "menuUpdate" => {
            let (payload, ty) = if name == "menuCreate" {
                ("MenuCreatePayload", "MenuCreateUserError")
            } else {
                ("MenuUpdatePayload", "MenuUpdateUserError")
            };
            let r = Restored::new(payload, "menu", ty).failed(e(true));
            match store.menus.keys().next() {
                Some(id) => r.with(Target::Menu(*id)),
                None => r,
            }
        }
        "metaobjectUpsert" => {
            let r = Restored::new(
                "MetaobjectUpsertPayload",
                "metaobject",
                "MetaobjectUserError",
            )
            .failed(e(true));
            match store.metaobjects.keys().next() {
                Some(id) => r.with(Target::Metaobject(*id)),
                None => r,
            }
        }
        _ => return None,
    };
    Some(r)
}
