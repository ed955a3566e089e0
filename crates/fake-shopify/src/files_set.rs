//! `productSet`'s `files: [FileSetInput!]`, with replace semantics: the product's media become
//! exactly the listed ones, in order; media left out are detached and deleted.
//!
//! An entry is either `{id, alt?}`, a `MediaImage` of this product (kept; `alt` updates it), or
//! `{originalSource, alt?, contentType?, filename?, duplicateResolutionMode?}`, a new image. The
//! fake fetches no external URL: `originalSource` must be the `resourceUrl` of a staged upload
//! that received its file, or the CDN URL of an image this fake serves; anything else is a user
//! error ("could not be fetched"), where Shopify would fetch the URL. Only images are made
//! (`contentType` `IMAGE`, or absent with an `image/*` staged upload). The new medium's file name
//! is `filename`, else the staged upload's; when another medium already has that name, a UUID is
//! appended (`mug_<uuid>.jpg`, Shopify's default `APPEND_UUID`), or with `RAISE_ERROR` it is a
//! user error. Every problem is found before anything changes.

use crate::exec::{gid, parse_gid};
use crate::image_info::image_size;
use crate::input::str_field;
use crate::model::*;
use crate::staged::StagedUploads;
use crate::user_errors::{path, user_error};
use serde_json::Value;
use std::collections::BTreeSet;

/// Shopify's limit of media per product.
const MAX_MEDIA: usize = 250;

/// What to do for one entry of `files`.
pub(crate) enum FileAction {
    /// Keep a medium of the product, possibly with a new alt text.
    Keep(u64, Option<String>),
    /// Make a new image.
    New {
        bytes: Vec<u8>,
        filename: String,
        alt: String,
        /// The file name is taken: append a UUID.
        rename: bool,
    },
}

/// The last path segment of a name or URL path, without a query string.
fn base_name(s: &str) -> String {
    let s = s.split(['?', '#']).next().unwrap_or("");
    s.rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The bytes and file name behind an `originalSource`, and whether it is known to be no image.
fn fetch(
    source: &str,
    store: &Store,
    staged: &StagedUploads,
    base: &str,
) -> Result<(Vec<u8>, String, bool), String> {
    if let Some(upload) = staged.by_url(base, source) {
        return match &upload.bytes {
            Some(b) => Ok((b.clone(), upload.filename.clone(), !upload.is_image())),
            None => Err(format!(
                "File could not be fetched from {source}: nothing was uploaded to this staged target"
            )),
        };
    }
    let cdn = source
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix("/_cdn/files/"))
        .and_then(|r| r.split('/').next())
        .and_then(|id| id.parse::<u64>().ok())
        .and_then(|id| store.media.get(&id));
    match cdn {
        Some(m) => Ok((m.bytes.clone(), m.filename.clone(), false)),
        None => Err(format!(
            "File could not be fetched from {source} (this fake fetches only its own staged uploads and CDN files)"
        )),
    }
}

/// Checks `files` against the product's media (`current`), the staged uploads and the store.
/// Returns the actions in order, or every user error found.
pub(crate) fn plan(
    files: &[Value],
    current: &[u64],
    store: &Store,
    staged: &StagedUploads,
    base: &str,
) -> Result<Vec<FileAction>, Vec<Value>> {
    if files.len() > MAX_MEDIA {
        let message = format!(
            "Exceeded the limit of {MAX_MEDIA} media per product: {} files were given",
            files.len()
        );
        return Err(vec![user_error(
            path(&["input", "files"]),
            message,
            "INVALID_INPUT",
        )]);
    }
    let mut errors = Vec::new();
    let mut actions = Vec::new();
    let mut kept = BTreeSet::new();
    for (i, file) in files.iter().enumerate() {
        let n = i.to_string();
        let mut error = |field: Option<&str>, message: String| {
            let mut at = vec!["input", "files", n.as_str()];
            at.extend(field);
            errors.push(user_error(path(&at), message, "INVALID_INPUT"));
        };
        let id = file.get("id").filter(|v| !v.is_null());
        let source = str_field(file, "originalSource");
        let alt = str_field(file, "alt");
        match (id, source) {
            (Some(_), Some(_)) => {
                error(None, "Specify either id or originalSource, not both".into())
            }
            (None, None) => error(None, "Either id or originalSource is required".into()),
            (Some(id), None) => match parse_gid("MediaImage", id).filter(|m| current.contains(m)) {
                None => error(
                    Some("id"),
                    format!(
                        "File {} does not exist on this product",
                        id.as_str().map_or_else(|| id.to_string(), String::from)
                    ),
                ),
                Some(m) if kept.contains(&m) => error(
                    Some("id"),
                    format!("File {} is listed more than once", gid("MediaImage", m)),
                ),
                Some(m) => {
                    kept.insert(m);
                    actions.push(FileAction::Keep(m, alt));
                }
            },
            (None, Some(source)) => {
                let content_type = str_field(file, "contentType");
                if content_type.as_deref().is_some_and(|t| t != "IMAGE") {
                    error(
                        Some("contentType"),
                        "Only IMAGE files can be attached to a product by this fake".into(),
                    );
                    continue;
                }
                let (bytes, from_source, not_image) = match fetch(&source, store, staged, base) {
                    Ok(found) => found,
                    Err(message) => {
                        error(Some("originalSource"), message);
                        continue;
                    }
                };
                if content_type.is_none() && not_image {
                    error(
                        Some("contentType"),
                        "The file is not an image: give contentType IMAGE".into(),
                    );
                    continue;
                }
                let filename = [str_field(file, "filename").unwrap_or_default(), from_source]
                    .iter()
                    .map(|s| base_name(s))
                    .find(|s| !s.is_empty())
                    .unwrap_or_else(|| "file".into());
                actions.push(FileAction::New {
                    bytes,
                    filename,
                    alt: alt.unwrap_or_default(),
                    rename: false,
                });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Names in use once this is applied: other products' media, and the media kept here.
    let mut taken: BTreeSet<String> = store
        .media
        .values()
        .filter(|m| !current.contains(&m.id) || kept.contains(&m.id))
        .map(|m| m.filename.clone())
        .collect();
    for (i, (file, action)) in files.iter().zip(actions.iter_mut()).enumerate() {
        let FileAction::New {
            filename, rename, ..
        } = action
        else {
            continue;
        };
        let at = |field: &str| path(&["input", "files", &i.to_string(), field]);
        let mode =
            str_field(file, "duplicateResolutionMode").unwrap_or_else(|| "APPEND_UUID".into());
        match mode.as_str() {
            "APPEND_UUID" => *rename = taken.contains(filename.as_str()),
            "RAISE_ERROR" if taken.contains(filename.as_str()) => errors.push(user_error(
                at("filename"),
                format!("Filename '{filename}' is already in use"),
                "INVALID_INPUT",
            )),
            "RAISE_ERROR" => {}
            "REPLACE" => errors.push(user_error(
                at("duplicateResolutionMode"),
                "duplicateResolutionMode REPLACE is not supported by this fake",
                "INVALID_INPUT",
            )),
            other => errors.push(user_error(
                at("duplicateResolutionMode"),
                format!("duplicateResolutionMode '{other}' is not valid"),
                "INVALID_INPUT",
            )),
        }
        taken.insert(filename.clone());
    }
    if errors.is_empty() {
        Ok(actions)
    } else {
        Err(errors)
    }
}

/// `name.ext` → `name_<uuid>.ext`, the UUID derived from the new medium's ID.
fn with_uuid(filename: &str, id: u64) -> String {
    let mut x = id ^ 0x5DEE_CE66_D1CE_4E5B;
    let mut hex = String::new();
    for _ in 0..2 {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ 0xBF58_476D_1CE4_E5B9;
        hex.push_str(&format!("{x:016x}"));
    }
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    match filename.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}_{uuid}.{ext}"),
        _ => format!("{filename}_{uuid}"),
    }
}

/// Applies a plan to the product `product_id` whose media were `current`; returns its new media.
pub(crate) fn apply(
    store: &mut Store,
    product_id: u64,
    current: &[u64],
    actions: Vec<FileAction>,
) -> Vec<u64> {
    let kept: BTreeSet<u64> = actions
        .iter()
        .filter_map(|a| match a {
            FileAction::Keep(id, _) => Some(*id),
            FileAction::New { .. } => None,
        })
        .collect();
    for id in current.iter().filter(|id| !kept.contains(id)) {
        store.media.remove(id);
    }
    let now = store.now_ts();
    let mut out = Vec::new();
    for action in actions {
        match action {
            FileAction::Keep(id, alt) => {
                if let (Some(m), Some(alt)) = (store.media.get_mut(&id), alt) {
                    m.alt = alt;
                }
                out.push(id);
            }
            FileAction::New {
                bytes,
                filename,
                alt,
                rename,
            } => {
                let id = store.ids.next(Kind::Media);
                let (width, height) = image_size(&bytes).unwrap_or((0, 0));
                let filename = if rename {
                    with_uuid(&filename, id)
                } else {
                    filename
                };
                store.media.insert(
                    id,
                    Media {
                        id,
                        product_id,
                        alt,
                        filename,
                        bytes,
                        width,
                        height,
                        created_at: now,
                    },
                );
                out.push(id);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(base_name("http://h/a/b/mug.jpg?v=1"), "mug.jpg");
        assert_eq!(base_name("dir\\x.png"), "x.png");
        assert_eq!(base_name("/"), "");
        let renamed = with_uuid("mug.jpg", 7);
        assert!(renamed.starts_with("mug_") && renamed.ends_with(".jpg"));
        assert_eq!(renamed.len(), "mug_.jpg".len() + 36);
        assert_ne!(renamed, with_uuid("mug.jpg", 8));
        assert!(with_uuid("noext", 1).starts_with("noext_"));
    }
}
