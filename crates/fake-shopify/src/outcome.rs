//! What a mutation did, and its payload as rendered once the model is updated (with the ordinary
//! executor, so that any selection of it works).

use crate::bulk_ops::BulkOps;
use crate::exec::{Obj, Out};
use crate::model::Store;
use crate::restore::Restored;
use crate::user_errors::objs;
use serde_json::{json, Value};

/// What a mutation did, to be rendered once the model is updated.
pub(crate) enum Done {
    Bulk(Option<u64>, Vec<Value>),
    ProductSet(Option<u64>, Vec<Value>),
    Upsert(Vec<String>, Vec<Value>),
    /// `stagedUploadsCreate`: the targets (JSON), or none, and the user errors.
    Staged(Option<Vec<Value>>, Vec<Value>),
    /// The other restore mutations.
    Restore(Restored),
}

/// The payload of a mutation as rendered after it ran.
pub(crate) fn payload<'a>(d: Done, store: &'a Store, bulk: &'a BulkOps) -> Obj<'a> {
    match d {
        Done::Bulk(op, errors) => Obj::Payload(
            "BulkOperationRunQueryPayload",
            vec![
                (
                    "bulkOperation",
                    op.and_then(|id| bulk.ops.get(&id))
                        .map_or(Out::Val(Value::Null), |b| Out::Obj(Obj::Bulk(b))),
                ),
                ("userErrors", objs(errors, "BulkOperationUserError")),
            ],
        ),
        Done::ProductSet(product, errors) => Obj::Payload(
            "ProductSetPayload",
            vec![
                (
                    "product",
                    product
                        .and_then(|id| store.products.get(&id))
                        .map_or(Out::Val(Value::Null), |p| Out::Obj(Obj::Product(p))),
                ),
                ("productSetOperation", Out::Val(Value::Null)),
                ("userErrors", objs(errors, "ProductSetUserError")),
            ],
        ),
        Done::Upsert(files, errors) => Obj::Payload(
            "ThemeFilesUpsertPayload",
            vec![
                (
                    "upsertedThemeFiles",
                    objs(
                        files
                            .into_iter()
                            .map(|n| json!({ "filename": n }))
                            .collect(),
                        "OnlineStoreThemeFileOperationResult",
                    ),
                ),
                ("job", Out::Val(Value::Null)),
                (
                    "userErrors",
                    objs(errors, "OnlineStoreThemeFilesUserErrors"),
                ),
            ],
        ),
        Done::Restore(r) => r.payload(store),
        Done::Staged(targets, errors) => Obj::Payload(
            "StagedUploadsCreatePayload",
            vec![
                (
                    "stagedTargets",
                    targets.map_or(Out::Val(Value::Null), |t| {
                        objs(t, "StagedMediaUploadTarget")
                    }),
                ),
                ("userErrors", objs(errors, "UserError")),
            ],
        ),
    }
}
