//! Theme files: every theme's file list with MD5 checksums, and bodies fetched (50 a request)
//! only for files whose checksum differs from the previous export's copy.

use super::bulk::gid_number;
use super::client::AdminClient;
use super::error::{Error, Result};
use super::layout::{canonical, safe_relative};
use super::queries::{THEMES, THEME_BODIES, THEME_FILES};
use super::staging::Staging;
use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Which themes to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThemeSelection {
    /// Every theme.
    All,
    /// The published theme only (role MAIN).
    Main,
    /// No theme.
    None,
}

/// What the themes of one run cost.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ThemeCounts {
    /// Themes exported.
    pub themes: u64,
    /// Files whose body was fetched.
    pub fetched: u64,
    /// Files taken from the previous export (same MD5).
    pub kept: u64,
}

/// Bodies asked for in one request (the API's limit for `files(filenames:)`).
const BODIES_PER_REQUEST: usize = 50;

/// Exports the selected themes into `themes/<id>/`.
pub fn export_themes(
    client: &AdminClient,
    staging: &Staging,
    which: &ThemeSelection,
) -> Result<ThemeCounts> {
    let mut counts = ThemeCounts::default();
    if *which == ThemeSelection::None {
        return Ok(counts);
    }
    for theme in list_themes(client)? {
        if *which == ThemeSelection::Main
            && theme.get("role").and_then(Value::as_str) != Some("MAIN")
        {
            continue;
        }
        let gid = theme.get("id").and_then(Value::as_str).unwrap_or("");
        let n = gid_number(gid)
            .ok_or_else(|| Error::protocol("listing themes", format!("a theme id {gid:?}")))?;
        let dir = PathBuf::from("themes").join(n.to_string());
        staging.write(&dir.join("theme.json"), &canonical(&theme))?;
        let mut wanted = Vec::new();
        for f in list_files(client, gid)? {
            let rel = dir.join(safe_relative("a theme file name", &f.name)?);
            match &f.md5 {
                Some(sum) if md5_of(&staging.previous(&rel)).as_deref() == Some(sum.as_str()) => {
                    staging.keep(&rel)?;
                    counts.kept += 1;
                }
                _ => wanted.push(f),
            }
        }
        for batch in wanted.chunks(BODIES_PER_REQUEST) {
            counts.fetched += fetch_bodies(client, staging, gid, &dir, batch)?;
        }
        counts.themes += 1;
    }
    Ok(counts)
}

/// A theme file as listed.
struct Listed {
    name: String,
    md5: Option<String>,
}

fn list_themes(client: &AdminClient) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = client.query("listing themes", THEMES, json!({ "after": after }), 52.0)?;
        let page = data
            .get("themes")
            .ok_or_else(|| Error::protocol("listing themes", "no themes in the answer"))?;
        if let Some(nodes) = page.get("nodes").and_then(Value::as_array) {
            out.extend(nodes.iter().cloned());
        }
        match next_cursor(page) {
            Some(c) => after = Value::String(c),
            None => return Ok(out),
        }
    }
}

fn list_files(client: &AdminClient, theme: &str) -> Result<Vec<Listed>> {
    let what = format!("listing the files of theme {theme}");
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let vars = json!({ "id": theme, "after": after });
        let data = client.query(&what, THEME_FILES, vars, 252.0)?;
        let page = data
            .pointer("/theme/files")
            .filter(|p| !p.is_null())
            .ok_or_else(|| Error::protocol(&what, "the theme is gone or has no file list"))?;
        for node in page
            .get("nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = node
                .get("filename")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::protocol(&what, "a file without a name"))?;
            out.push(Listed {
                name: name.to_string(),
                md5: node
                    .get("checksumMd5")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase),
            });
        }
        match next_cursor(page) {
            Some(c) => after = Value::String(c),
            None => return Ok(out),
        }
    }
}

fn next_cursor(page: &Value) -> Option<String> {
    let info = page.get("pageInfo")?;
    if info.get("hasNextPage").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    info.get("endCursor")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Fetches and writes the bodies of `batch`; returns how many were written. A file listed and
/// then deleted before its body was asked for is left out, as the store now has it.
fn fetch_bodies(
    client: &AdminClient,
    staging: &Staging,
    theme: &str,
    dir: &Path,
    batch: &[Listed],
) -> Result<u64> {
    let what = format!("reading files of theme {theme}");
    let names: Vec<&str> = batch.iter().map(|f| f.name.as_str()).collect();
    let data = client.query(
        &what,
        THEME_BODIES,
        json!({ "id": theme, "names": names }),
        52.0,
    )?;
    let nodes = data
        .pointer("/theme/files/nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::protocol(&what, "no files in the answer"))?;
    let mut written = 0;
    for node in nodes {
        let name = node.get("filename").and_then(Value::as_str).unwrap_or("");
        let Some(listed) = batch.iter().find(|f| f.name == name) else {
            return Err(Error::protocol(
                &what,
                format!("a file not asked for: {name:?}"),
            ));
        };
        let bytes = body(client, &what, name, node.get("body"))?;
        let sum = hex::encode(Md5::digest(&bytes));
        // The body must be the file listed: the checksum it came with, or the list's.
        let expected = node
            .get("checksumMd5")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .or_else(|| listed.md5.clone());
        if let Some(e) = expected.filter(|e| *e != sum) {
            return Err(Error::protocol(
                &what,
                format!("{name}: the body's MD5 is {sum}, the store says {e}"),
            ));
        }
        staging.write(&dir.join(safe_relative("a theme file name", name)?), &bytes)?;
        written += 1;
    }
    Ok(written)
}

/// The bytes of a body: text, base64, or a short-lived URL to fetch.
fn body(client: &AdminClient, what: &str, name: &str, body: Option<&Value>) -> Result<Vec<u8>> {
    let body = body.ok_or_else(|| Error::protocol(what, format!("{name}: no body")))?;
    if let Some(text) = body.get("content").and_then(Value::as_str) {
        return Ok(text.as_bytes().to_vec());
    }
    if let Some(b64) = body.get("contentBase64").and_then(Value::as_str) {
        return base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| Error::protocol(what, format!("{name}: bad base64: {e}")));
    }
    if let Some(url) = body.get("url").and_then(Value::as_str) {
        let mut resp = client.get(what, url).map_err(Error::from)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp, &mut bytes).map_err(|e| Error::Unavailable {
            what: what.to_string(),
            tries: 1,
            last: e.to_string(),
        })?;
        return Ok(bytes);
    }
    Err(Error::protocol(
        what,
        format!("{name}: a body of unknown type"),
    ))
}

/// The hex MD5 of a file, or `None` if it cannot be read.
fn md5_of(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match f.read(&mut buf).ok()? {
            0 => return Some(hex::encode(h.finalize())),
            n => h.update(&buf[..n]),
        }
    }
}
