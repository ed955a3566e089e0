//! Media originals of products: kept between runs, downloaded again only when the product's
//! record of the medium (its original's URL, which changes with the file, and its size) changed.

use super::bulk::gid_number;
use super::client::AdminClient;
use super::error::{Error, Result};
use super::layout::safe_relative;
use super::staging::Staging;
use serde_json::Value;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What the media of one run cost.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct MediaCounts {
    /// Originals downloaded.
    pub downloaded: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Originals taken from the previous export.
    pub kept: u64,
}

impl MediaCounts {
    /// Adds another entity's counts.
    pub fn add(&mut self, other: &MediaCounts) {
        self.downloaded += other.downloaded;
        self.bytes += other.bytes;
        self.kept += other.kept;
    }
}

/// A medium with a file to keep: its number, original URL and announced size.
struct Original<'a> {
    number: u64,
    url: &'a str,
    size: Option<u64>,
}

fn original(node: &Value) -> Option<Original<'_>> {
    let number = node
        .get("id")
        .and_then(Value::as_str)
        .and_then(gid_number)?;
    let count = |v: &Value| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let Some(source) = node.get("originalSource").filter(|s| !s.is_null()) else {
        // A GenericFile of the Files library: its URL and size are on the file itself.
        let url = node.get("url").and_then(Value::as_str)?;
        let size = node.get("originalFileSize").and_then(count);
        return Some(Original { number, url, size });
    };
    let url = source.get("url").and_then(Value::as_str)?;
    // Model3dSource spells it `filesize`.
    let size = ["fileSize", "filesize"]
        .iter()
        .find_map(|k| source.get(*k))
        .and_then(count);
    Some(Original { number, url, size })
}

/// The file name an original is kept under: the last part of its URL's path.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    if last.is_empty() || last == "." || last == ".." {
        "original".to_string()
    } else {
        last.to_string()
    }
}

/// Where the original of medium `number` is kept.
pub fn media_path(number: u64, url: &str) -> Result<PathBuf> {
    let name = file_name(url);
    Ok(Path::new("media")
        .join(number.to_string())
        .join(safe_relative("a media file name", &name)?))
}

/// Brings the originals of a product's media into the new tree: from the previous export when
/// the previous product file recorded the same medium, otherwise from the store.
pub fn sync_product_media(
    client: &AdminClient,
    staging: &Staging,
    product_file: &Path,
    product: &Value,
    counts: &mut MediaCounts,
) -> Result<()> {
    let Some(media) = product.get("media").and_then(Value::as_array) else {
        return Ok(());
    };
    if media.is_empty() {
        return Ok(());
    }
    let previous = previous_media(&staging.previous(product_file));
    sync(client, staging, media, &previous, counts)
}

/// Brings the original of a file of the Files library into the new tree (unless a product's
/// media brought it already: product images are files too), from the previous export when the
/// previous record of the file is the same.
pub fn sync_file(
    client: &AdminClient,
    staging: &Staging,
    record_file: &Path,
    file: &Value,
    counts: &mut MediaCounts,
) -> Result<()> {
    let previous: Vec<Value> = std::fs::read(staging.previous(record_file))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .into_iter()
        .collect();
    sync(
        client,
        staging,
        std::slice::from_ref(file),
        &previous,
        counts,
    )
}

fn sync(
    client: &AdminClient,
    staging: &Staging,
    nodes: &[Value],
    previous: &[Value],
    counts: &mut MediaCounts,
) -> Result<()> {
    for node in nodes {
        let Some(o) = original(node) else { continue };
        let rel = media_path(o.number, o.url)?;
        if staging.listed(&rel) {
            continue;
        }
        let same = previous.iter().any(|p| p == node);
        if same && staging.previous(&rel).is_file() {
            staging.keep(&rel)?;
            counts.kept += 1;
            continue;
        }
        let got = download(client, staging, &rel, &o)?;
        counts.downloaded += 1;
        counts.bytes += got;
    }
    Ok(())
}

/// The media records of the previous export's copy of a product (none if it has none).
fn previous_media(path: &Path) -> Vec<Value> {
    let Ok(bytes) = fs::read(path) else {
        return Vec::new();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return Vec::new();
    };
    match v.get("media") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

fn download(client: &AdminClient, staging: &Staging, rel: &Path, o: &Original) -> Result<u64> {
    let what = format!("downloading medium {}", o.number);
    let mut resp = client.get(&what, o.url).map_err(Error::from)?;
    let path = staging.path(rel)?;
    let mut file = fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
    let got = io::copy(&mut resp, &mut file).map_err(|e| Error::Unavailable {
        what: what.clone(),
        tries: 1,
        last: e.to_string(),
    })?;
    if let Some(size) = o.size.filter(|&s| s != got) {
        return Err(Error::protocol(
            what,
            format!("{got} bytes arrived, the product's record says {size}"),
        ));
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn originals_are_named_by_the_last_part_of_their_url() {
        assert_eq!(
            file_name("https://cdn.shopify.com/s/files/1/a/files/mug.jpg?v=17"),
            "mug.jpg"
        );
        assert_eq!(file_name("http://h/x/"), "original");
        let p = media_path(9, "http://h/_cdn/files/9/mug.jpg?v=1").unwrap();
        assert_eq!(p, PathBuf::from("media/9/mug.jpg"));
        let node = json!({"id": "gid://shopify/Model3d/5",
            "originalSource": {"url": "http://h/m.glb", "filesize": "12"}});
        let o = original(&node).unwrap();
        assert_eq!((o.number, o.size), (5, Some(12)));
        assert!(
            original(&json!({"id": "gid://shopify/ExternalVideo/1", "embedUrl": "x"})).is_none()
        );
    }
}
