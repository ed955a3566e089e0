//! Mutations: `bulkOperationRunQuery`, and for restores `stagedUploadsCreate`, `productSet`
//! (replace semantics, keyed by handle), `themeFilesUpsert` and the restore mutations of
//! collections, pages, articles, redirects, menus and metaobjects (see `restore`). Each runs
//! against the model, then its payload is rendered with the ordinary executor so that any
//! selection of it works.

use crate::bulk::{self, BulkRefusal};
use crate::bulk_ops::{BulkOps, BulkResult};
use crate::exec::{gid, parse_gid, Ctx, GqlError, Out};
use crate::gql::{Document, Field, Selection};
use crate::input::str_field;
use crate::outcome::{payload, Done};
use crate::product_set::product_set;
use crate::resolve::access_denied;
use crate::restore_dispatch;
use crate::staged_endpoint::staged_uploads_create;
use crate::state::State;
use crate::user_errors::{path, user_error};
use base64::Engine;
use serde_json::{json, Map, Value};

/// Renders the selection of each mutation against a sample payload first, so that a selection
/// error is reported before anything changes (GraphQL validates before it executes).
fn validate(state: &State, doc: &Document, vars: &Map<String, Value>) -> Result<(), GqlError> {
    let sample_error = || vec![json!({ "field": ["x"], "message": "m", "code": "INVALID" })];
    let mut dummy = BulkOps::default();
    let op = dummy.insert(String::new(), BulkResult::default(), false, "");
    let mut ctx = Ctx::new(
        &state.store,
        &dummy,
        vars,
        &doc.fragments,
        &state.base,
        &state.denied,
    );
    for s in &doc.selection {
        let Selection::Field(f) = s else { continue };
        let sample = match f.name.as_str() {
            "bulkOperationRunQuery" => Done::Bulk(Some(op), sample_error()),
            "productSet" => {
                Done::ProductSet(state.store.products.keys().next().copied(), sample_error())
            }
            "themeFilesUpsert" => Done::Upsert(vec!["x".into()], sample_error()),
            "stagedUploadsCreate" => Done::Staged(
                Some(vec![json!({ "url": "u", "resourceUrl": "u",
                    "parameters": [{ "__typename": "StagedUploadParameter", "name": "n", "value": "v" }] })]),
                vec![json!({ "field": ["input"], "message": "m" })],
            ),
            other => match restore_dispatch::sample(other, &state.store) {
                Some(r) => Done::Restore(r),
                None => continue,
            },
        };
        let obj = payload(sample, &state.store, &dummy);
        ctx.complete(Out::Obj(obj), f)?;
    }
    Ok(())
}

/// Runs a mutation document.
pub fn execute(
    state: &mut State,
    doc: &Document,
    vars: &Map<String, Value>,
) -> Result<Map<String, Value>, GqlError> {
    validate(state, doc, vars)?;
    let mut done: Vec<(&Field, Option<Done>)> = Vec::new();
    for s in &doc.selection {
        let Selection::Field(f) = s else { continue };
        let d = match f.name.as_str() {
            "__typename" => None,
            "bulkOperationRunQuery" => Some(bulk_run(state, f, vars)?),
            "productSet" => {
                let d = product_set(state, f, vars)?;
                // The variants written get their inventory items and levels.
                state.store.sync_inventory();
                Some(d)
            }
            "themeFilesUpsert" => Some(theme_files_upsert(state, f, vars)?),
            "stagedUploadsCreate" => Some(staged_uploads_create(state, f, vars)?),
            other => match restore_dispatch::run(state, f, vars)? {
                Some(r) => Some(Done::Restore(r)),
                None => return Err(GqlError::undefined_field("Mutation", other)),
            },
        };
        done.push((f, d));
    }
    let mut ctx = Ctx::new(
        &state.store,
        &state.bulk,
        vars,
        &doc.fragments,
        &state.base,
        &state.denied,
    );
    let mut data = Map::new();
    for (f, d) in done {
        let Some(d) = d else {
            data.insert(f.key().into(), "Mutation".into());
            continue;
        };
        let payload = payload(d, &state.store, &state.bulk);
        let v = ctx.complete(Out::Obj(payload), f)?;
        data.insert(f.key().into(), v);
    }
    Ok(data)
}

fn bulk_run(state: &mut State, f: &Field, vars: &Map<String, Value>) -> Result<Done, GqlError> {
    let Some(query) = f
        .arg("query", vars)
        .and_then(|q| q.as_str().map(String::from))
    else {
        return Err(GqlError::new(
            "Variable $query of type String! was provided invalid value",
            Some("INVALID_VARIABLE"),
        ));
    };
    if let Some(id) = state.bulk.in_progress() {
        let message = format!(
            "A bulk query operation for this app and shop is already in progress: {}.",
            gid("BulkOperation", id)
        );
        return Ok(Done::Bulk(
            None,
            vec![user_error(None, message, "OPERATION_IN_PROGRESS")],
        ));
    }
    match bulk::run(
        &state.store,
        &state.bulk,
        &query,
        &state.base,
        &state.denied,
    ) {
        Err(BulkRefusal::Denied(e)) => Err(e),
        Err(BulkRefusal::Invalid(message)) => Ok(Done::Bulk(
            None,
            vec![user_error(path(&["query"]), message, "INVALID")],
        )),
        Ok(result) => {
            let fail = state.fail_next_bulk > 0;
            if fail {
                state.fail_next_bulk -= 1;
            }
            let now = state.store.now();
            let id = state.bulk.insert(query, result, fail, &now);
            state.counters.bulk_operations += 1;
            Ok(Done::Bulk(Some(id), Vec::new()))
        }
    }
}

fn theme_files_upsert(
    state: &mut State,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Done, GqlError> {
    if state.denied.contains("write_themes") {
        return Err(access_denied("themeFilesUpsert", "write_themes"));
    }
    let theme_id = f
        .arg("themeId", vars)
        .and_then(|v| parse_gid("OnlineStoreTheme", &v));
    let Some(theme_id) = theme_id.filter(|id| state.store.themes.contains_key(id)) else {
        return Ok(Done::Upsert(
            Vec::new(),
            vec![user_error(
                path(&["themeId"]),
                "Theme does not exist",
                "NOT_FOUND",
            )],
        ));
    };
    let files = f
        .arg("files", vars)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    if files.len() > 50 {
        let message = format!(
            "The number of files must be less than or equal to 50, but {} were given",
            files.len()
        );
        return Ok(Done::Upsert(
            Vec::new(),
            vec![user_error(
                path(&["files"]),
                message,
                "LESS_THAN_OR_EQUAL_TO",
            )],
        ));
    }
    let mut errors = Vec::new();
    let mut parsed: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let field = |k: &str| path(&["files", &i.to_string(), k]);
        let name = str_field(file, "filename").unwrap_or_default();
        let mut error = |field, message: String, code: &str| {
            let mut e = user_error(field, message, code);
            e["filename"] = Value::from(name.clone());
            errors.push(e);
        };
        if name.is_empty() || name.starts_with('/') || name.contains("..") {
            error(
                field("filename"),
                format!("Filename '{name}' is invalid"),
                "FILE_VALIDATION_ERROR",
            );
            continue;
        }
        if parsed.iter().any(|(n, _)| *n == name) {
            error(
                field("filename"),
                format!("There are files with the same filename: {name}"),
                "DUPLICATE_FILE_INPUT",
            );
            continue;
        }
        let body = file.get("body").cloned().unwrap_or(Value::Null);
        let value = str_field(&body, "value").unwrap_or_default();
        let bytes = match str_field(&body, "type").as_deref() {
            Some("TEXT") => value.into_bytes(),
            Some("BASE64") => {
                match base64::engine::general_purpose::STANDARD.decode(value.trim()) {
                    Ok(b) => b,
                    Err(e) => {
                        error(
                            field("body"),
                            format!("Invalid base64 body: {e}"),
                            "FILE_VALIDATION_ERROR",
                        );
                        continue;
                    }
                }
            }
            other => {
                error(
                    field("body"),
                    format!("Body type {other:?} is not supported (TEXT or BASE64)"),
                    "FILE_VALIDATION_ERROR",
                );
                continue;
            }
        };
        parsed.push((name, bytes));
    }
    if !errors.is_empty() {
        return Ok(Done::Upsert(Vec::new(), errors));
    }
    let now = state.store.now();
    let Some(theme) = state.store.themes.get_mut(&theme_id) else {
        return Ok(Done::Upsert(Vec::new(), Vec::new()));
    };
    let names = parsed.iter().map(|(n, _)| n.clone()).collect();
    for (name, bytes) in parsed {
        theme.files.insert(name, bytes);
    }
    theme.updated_at = now;
    Ok(Done::Upsert(names, Vec::new()))
}
