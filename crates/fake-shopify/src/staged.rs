//! Staged uploads: the `stagedUploadsCreate` mutation and the upload endpoint it hands out.
//!
//! A target is `http://127.0.0.1:PORT/_staged/<token>`, for both `url` and `resourceUrl`. With
//! `httpMethod: PUT` (the default) the file is the raw body of a `PUT` to `url` (any
//! Content-Type); `parameters` are `content_type` and `acl`, as Shopify gives for PUT targets.
//! With `POST` the file is the `file` part of a `multipart/form-data` `POST` to `url` carrying
//! the form fields of `parameters` (`Content-Type`, `success_action_status`, `acl`, `key`), as for
//! Google Cloud Storage's POST policy; the answer is 201 with a small XML document. A body larger
//! than the announced `fileSize` is refused (400), an unknown token answers 404. Uploading again
//! to the same target replaces the bytes. Targets do not expire and need no token; like every
//! request, a body above 32 MiB is refused (413).

use crate::exec::GqlError;
use crate::gql::Field;
use crate::mutations::{str_field, Done};
use crate::resolve::access_denied;
use crate::state::{Reply, State};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// `StagedUploadTargetGenerateUploadResource` values.
const RESOURCES: &[&str] = &[
    "BULK_MUTATION_VARIABLES",
    "COLLECTION_IMAGE",
    "DISPUTE_FILE_UPLOAD",
    "FILE",
    "IMAGE",
    "MODEL_3D",
    "PRODUCT_IMAGE",
    "RETURN_LABEL",
    "SHOP_IMAGE",
    "THEME_ARCHIVE",
    "URL_REDIRECT_IMPORT",
    "VIDEO",
];

/// One staged upload target and what was uploaded to it.
#[derive(Clone, Debug)]
pub struct StagedUpload {
    /// The `filename` of the input.
    pub filename: String,
    /// The `mimeType` of the input.
    pub mime_type: String,
    /// The `resource` of the input (`IMAGE`, `FILE`, ...).
    pub resource: String,
    /// `PUT` or `POST`.
    pub method: String,
    /// The announced `fileSize`, if any.
    pub file_size: Option<u64>,
    /// The bytes, once uploaded.
    pub bytes: Option<Vec<u8>>,
}

impl StagedUpload {
    /// Whether it was announced as an image (an `image/*` MIME type or an image resource).
    pub fn is_image(&self) -> bool {
        self.mime_type.starts_with("image/")
            || matches!(
                self.resource.as_str(),
                "IMAGE" | "PRODUCT_IMAGE" | "COLLECTION_IMAGE" | "SHOP_IMAGE"
            )
    }
}

/// The staged upload targets handed out, by token.
#[derive(Debug, Default)]
pub struct StagedUploads {
    /// Targets handed out so far.
    created: u64,
    /// Targets by token.
    pub uploads: BTreeMap<String, StagedUpload>,
}

/// A deterministic, opaque-looking token for the `n`th target (splitmix64).
fn token(n: u64) -> String {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("{n:x}-{z:016x}")
}

impl StagedUploads {
    fn insert(&mut self, upload: StagedUpload) -> String {
        self.created += 1;
        let t = token(self.created);
        self.uploads.insert(t.clone(), upload);
        t
    }

    /// The staged upload a `resourceUrl` (with or without a query string) names, if it is one of
    /// this server's (`base` is `http://127.0.0.1:PORT`).
    pub fn by_url(&self, base: &str, url: &str) -> Option<&StagedUpload> {
        let rest = url.strip_prefix(base)?.strip_prefix("/_staged/")?;
        let t = rest.split(['?', '#']).next()?;
        self.uploads.get(t)
    }
}

/// The scope a staged upload of `resource` needs.
fn scope_of(resource: &str) -> &'static str {
    match resource {
        "IMAGE" | "PRODUCT_IMAGE" | "COLLECTION_IMAGE" => "write_products",
        _ => "write_files",
    }
}

/// A `UserError` (`field`, `message`: the type has no `code`).
fn error(i: usize, field: &str, message: impl Into<String>) -> Value {
    json!({ "field": ["input", i.to_string(), field], "message": message.into() })
}

fn parameter(name: &str, value: &str) -> Value {
    json!({ "__typename": "StagedUploadParameter", "name": name, "value": value })
}

/// `stagedUploadsCreate(input: [StagedUploadInput!]!)`. Any invalid input means no target at
/// all (`stagedTargets: null`) and a `userErrors` entry per problem.
pub(crate) fn staged_uploads_create(
    state: &mut State,
    f: &Field,
    vars: &Map<String, Value>,
) -> Result<Done, GqlError> {
    let inputs = match f.arg("input", vars) {
        Some(Value::Array(list)) => list,
        Some(one @ Value::Object(_)) => vec![one],
        _ => {
            return Err(GqlError::new(
                "Variable $input of type [StagedUploadInput!]! was provided invalid value",
                Some("INVALID_VARIABLE"),
            ))
        }
    };
    for input in &inputs {
        if let Some(resource) = str_field(input, "resource") {
            let scope = scope_of(&resource);
            if state.denied.contains(scope) {
                return Err(access_denied("stagedUploadsCreate", scope));
            }
        }
    }
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let before = errors.len();
        let mut text = |field: &str| match str_field(input, field) {
            Some(s) if !s.trim().is_empty() => s,
            _ => {
                errors.push(error(i, field, format!("{field} can't be blank")));
                String::new()
            }
        };
        let (filename, mime_type, resource) =
            (text("filename"), text("mimeType"), text("resource"));
        if !resource.is_empty() && !RESOURCES.contains(&resource.as_str()) {
            errors.push(error(
                i,
                "resource",
                format!("Resource '{resource}' is not valid"),
            ));
        }
        let method = str_field(input, "httpMethod").unwrap_or_else(|| "PUT".into());
        if method != "PUT" && method != "POST" {
            errors.push(error(
                i,
                "httpMethod",
                format!("HTTP method '{method}' is not valid (PUT or POST)"),
            ));
        }
        let file_size = match input.get("fileSize") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => s.trim().parse::<u64>().ok().map(Some).unwrap_or_else(|| {
                errors.push(error(i, "fileSize", format!("File size '{s}' is invalid")));
                None
            }),
            Some(Value::Number(n)) => n.as_u64().map(Some).unwrap_or_else(|| {
                errors.push(error(i, "fileSize", format!("File size '{n}' is invalid")));
                None
            }),
            Some(other) => {
                errors.push(error(
                    i,
                    "fileSize",
                    format!("File size {other} is invalid"),
                ));
                None
            }
        };
        if input.get("fileSize").is_none_or(Value::is_null)
            && matches!(resource.as_str(), "VIDEO" | "MODEL_3D")
        {
            errors.push(error(
                i,
                "fileSize",
                "File size is required for video and 3D model uploads",
            ));
        }
        if errors.len() == before {
            parsed.push(StagedUpload {
                filename,
                mime_type,
                resource,
                method,
                file_size,
                bytes: None,
            });
        }
    }
    if !errors.is_empty() {
        return Ok(Done::Staged(None, errors));
    }
    let mut targets = Vec::new();
    for upload in parsed {
        let (method, mime, name) = (
            upload.method.clone(),
            upload.mime_type.clone(),
            upload.filename.clone(),
        );
        let t = state.staged.insert(upload);
        let url = format!("{}/_staged/{t}", state.base);
        let parameters = if method == "POST" {
            vec![
                parameter("Content-Type", &mime),
                parameter("success_action_status", "201"),
                parameter("acl", "private"),
                parameter("key", &format!("tmp/{t}/{name}")),
            ]
        } else {
            vec![
                parameter("content_type", &mime),
                parameter("acl", "private"),
            ]
        };
        targets.push(json!({ "url": url, "resourceUrl": url, "parameters": parameters }));
    }
    Ok(Done::Staged(Some(targets), Vec::new()))
}

fn xml_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::bytes(
        status,
        "application/xml; charset=UTF-8",
        format!("<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>").into_bytes(),
    )
}

/// Stores an upload's bytes, or says why not.
fn store(state: &mut State, token: &str, method: &str, bytes: Vec<u8>) -> Result<(), Reply> {
    let Some(upload) = state.staged.uploads.get_mut(token) else {
        return Err(xml_error(
            404,
            "NoSuchUpload",
            "The requested upload target does not exist.",
        ));
    };
    if upload.method != method {
        return Err(xml_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ));
    }
    if upload.file_size.is_some_and(|max| bytes.len() as u64 > max) {
        return Err(xml_error(
            400,
            "EntityTooLarge",
            "Your proposed upload is larger than the maximum object size specified in your Policy Document.",
        ));
    }
    state.counters.staged_uploads += 1;
    state.counters.staged_bytes += bytes.len() as u64;
    upload.bytes = Some(bytes);
    Ok(())
}

/// `PUT /_staged/<token>`: the body is the file.
pub(crate) fn put(state: &mut State, token: &str, body: &[u8]) -> Reply {
    match store(state, token, "PUT", body.to_vec()) {
        Ok(()) => Reply::bytes(200, "text/plain; charset=utf-8", Vec::new()),
        Err(reply) => reply,
    }
}

/// `POST /_staged/<token>`: a `multipart/form-data` form whose `file` part is the file.
pub(crate) fn post(
    state: &mut State,
    token: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Reply {
    if !state.staged.uploads.contains_key(token) {
        return xml_error(
            404,
            "NoSuchUpload",
            "The requested upload target does not exist.",
        );
    }
    let Some(file) = content_type
        .and_then(boundary)
        .and_then(|b| multipart_file(body, &b))
    else {
        return xml_error(
            400,
            "InvalidArgument",
            "The body must be multipart/form-data with a 'file' part.",
        );
    };
    match store(state, token, "POST", file) {
        Ok(()) => Reply::bytes(
            201,
            "application/xml; charset=UTF-8",
            format!("<?xml version='1.0' encoding='UTF-8'?><PostResponse><Location>{}/_staged/{token}</Location><Key>tmp/{token}</Key></PostResponse>", state.base).into_bytes(),
        ),
        Err(reply) => reply,
    }
}

/// The boundary of a `multipart/form-data` Content-Type.
fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary"))
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The content of the part named `file` of a multipart body.
pub(crate) fn multipart_file(body: &[u8], boundary: &str) -> Option<Vec<u8>> {
    let delimiter = format!("--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let next = format!("\r\n--{boundary}");
    loop {
        // After a delimiter: `--` ends the body, otherwise CRLF then the part's headers.
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, next.as_bytes())?;
        let part = &rest[..end];
        rest = &rest[end + next.len()..];
        let split = find(part, b"\r\n\r\n")?;
        let headers = String::from_utf8_lossy(&part[..split]).to_ascii_lowercase();
        let is_file = headers.lines().any(|l| {
            l.starts_with("content-disposition:")
                && l.split(';')
                    .any(|p| matches!(p.trim(), "name=\"file\"" | "name=file"))
        });
        if is_file {
            return Some(part[split + 4..].to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_and_boundaries() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\ntmp/a.jpg\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n\r\nzz\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_file(body, "XyZ").as_deref(),
            Some(&b"\xff\xd8\r\n\r\nzz"[..])
        );
        assert_eq!(multipart_file(body, "nope"), None);
        assert_eq!(multipart_file(b"--XyZ--\r\n", "XyZ"), None);
        assert_eq!(multipart_file(b"--XyZ\r\nbroken", "XyZ"), None);
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(boundary("application/json"), None);
        assert_ne!(token(1), token(2));
    }
}
