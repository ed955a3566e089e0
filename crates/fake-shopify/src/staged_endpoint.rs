//! The `stagedUploadsCreate` mutation and the upload endpoint it hands out (`PUT` or `POST`
//! `/_staged/<token>`), as described in `staged`.

use crate::exec::GqlError;
use crate::gql::Field;
use crate::input::str_field;
use crate::outcome::Done;
use crate::resolve::access_denied;
use crate::staged::{boundary, multipart_file, StagedUpload};
use crate::state::{Reply, State};
use serde_json::{json, Map, Value};

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
