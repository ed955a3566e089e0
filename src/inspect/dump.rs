//! `dump`: a file's bytes as they are, or a directory as a tar (restic's default) or zip stream of
//! everything below it, written as it is read: one blob in memory at a time, never the archive.
//!
//! Entries are named by their path in the snapshot without the leading `/`. Tar keeps what tar can
//! hold: mode, owner, mtime, symlinks, hard links (later names as links to the first), FIFOs and
//! devices, extended attributes as PAX `SCHILY.xattr.` records and mtimes to the nanosecond. Zip keeps files, directories,
//! symlinks, modes and mtimes (within 1980 to 2107). What an archive cannot hold (sockets; special
//! files and hard links in a zip, which get their content again) is counted in the summary.

use crate::error::{bail, err, Context, Error, Result};
use crate::format::tree::{Node, NodeKind, MAX_DEPTH};
use crate::ids::BlobId;
use crate::repository::Repository;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The archive a directory is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveFormat {
    /// POSIX tar with PAX records (GNU long names for paths over 100 bytes).
    #[default]
    Tar,
    /// Zip, streamed (sizes and checksums in data descriptors after each file).
    Zip,
}

/// What a dump wrote.
#[derive(Debug, Default)]
pub struct DumpSummary {
    /// Regular files written with their content.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Symlinks, hard links, FIFOs and devices written as such.
    pub others: u64,
    /// Content bytes written.
    pub bytes: u64,
    /// Entries the archive format cannot hold, with what they are.
    pub left_out: Vec<(String, &'static str)>,
}

/// Writes `node`, found at `path` in a snapshot, to `out`: a file as its bytes, a directory as an
/// archive of `format`. Anything else is an error naming it.
pub fn dump(
    repo: &Repository,
    node: &Node,
    path: &str,
    format: ArchiveFormat,
    out: &mut dyn Write,
) -> Result<DumpSummary> {
    let mut summary = DumpSummary::default();
    match node.kind {
        NodeKind::File => {
            summary.bytes = io::copy(&mut Blobs::new(repo, &node.content), out)
                .map_err(|e| io_error(e, path))?;
            summary.files = 1;
        }
        NodeKind::Dir => {
            let mut w = Walker {
                repo,
                summary: &mut summary,
                links: HashMap::new(),
            };
            let base = path.trim_matches('/');
            match format {
                ArchiveFormat::Tar => {
                    let mut tar = tar::Builder::new(out);
                    tar.follow_symlinks(false);
                    let mut sink = TarSink(&mut tar);
                    w.walk(&mut sink, base, node, 0)?;
                    tar.into_inner().map_err(|e| io_error(e, path))?;
                }
                ArchiveFormat::Zip => {
                    let mut zip = zip::ZipWriter::new_stream(out);
                    let mut sink = ZipSink(&mut zip);
                    w.walk(&mut sink, base, node, 0)?;
                    zip.finish().map_err(|e| zip_err(e, path))?;
                }
            }
        }
        other => bail!(
            InvalidInput,
            "{path:?} is a {}: dump writes files and directories",
            other.describe()
        ),
    }
    Ok(summary)
}

/// A write error: a closed pipe (`| head`) is reported as such, the rest with the path.
fn io_error(e: io::Error, path: &str) -> Error {
    Error::from(e).context(format!("dumping {path:?}"))
}

/// A file's content, blob after blob.
struct Blobs<'a> {
    repo: &'a Repository,
    ids: &'a [BlobId],
    next: usize,
    buf: Vec<u8>,
    pos: usize,
}

impl<'a> Blobs<'a> {
    fn new(repo: &'a Repository, ids: &'a [BlobId]) -> Self {
        Blobs {
            repo,
            ids,
            next: 0,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for Blobs<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            let Some(id) = self.ids.get(self.next) else {
                return Ok(0);
            };
            self.buf = self
                .repo
                .read_blob(id)
                .map_err(|e| io::Error::other(format!("reading blob {id}: {e:#}")))?;
            self.pos = 0;
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Where entries go: a tar or zip writer.
trait Sink {
    fn dir(&mut self, path: &str, n: &Node) -> Result<()>;
    /// `compressed`: whether the repository compressed its first blob (text, not media).
    fn file(
        &mut self,
        path: &str,
        n: &Node,
        content: &mut dyn Read,
        compressed: bool,
    ) -> Result<()>;
    fn symlink(&mut self, path: &str, n: &Node) -> Result<()>;
    /// A later name of a file already written at `first`; `false` when the format has no links.
    fn hardlink(&mut self, path: &str, n: &Node, first: &str) -> Result<bool>;
    /// A FIFO or device; `false` when the format cannot hold it.
    fn special(&mut self, path: &str, n: &Node) -> Result<bool>;
}

struct Walker<'a, 's> {
    repo: &'a Repository,
    summary: &'s mut DumpSummary,
    /// The first path written of each hard-linked file, by device and inode.
    links: HashMap<(u64, u64), String>,
}

impl Walker<'_, '_> {
    fn walk(&mut self, sink: &mut dyn Sink, path: &str, dir: &Node, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            bail!(
                Corrupt,
                "{path:?}: directories nested deeper than {MAX_DEPTH} levels"
            );
        }
        if !path.is_empty() {
            sink.dir(path, dir)?;
            self.summary.dirs += 1;
        }
        let nodes = self
            .repo
            .load_tree(&dir.content)
            .with_context(|| format!("reading directory {path:?}"))?;
        for n in &nodes {
            let name = n.name_lossy();
            let child = if path.is_empty() {
                name
            } else {
                format!("{path}/{name}")
            };
            self.entry(sink, &child, n, depth)?;
        }
        Ok(())
    }

    fn entry(&mut self, sink: &mut dyn Sink, path: &str, n: &Node, depth: usize) -> Result<()> {
        match n.kind {
            NodeKind::Dir => self.walk(sink, path, n, depth + 1),
            NodeKind::File => {
                if n.links > 0 {
                    let key = (n.device, n.inode);
                    if let Some(first) = self.links.get(&key) {
                        if sink.hardlink(path, n, first)? {
                            self.summary.others += 1;
                            return Ok(());
                        }
                    } else {
                        self.links.insert(key, path.to_string());
                    }
                }
                let mut content = Counted {
                    inner: Blobs::new(self.repo, &n.content),
                    count: 0,
                };
                let compressed = n.content.first().is_some_and(|id| {
                    self.repo.index().get(id).is_some_and(|l| {
                        l.entry.compression != crate::format::blob_entry::Compression::None
                    })
                });
                sink.file(path, n, &mut content, compressed)?;
                if content.count != n.size {
                    bail!(
                        Corrupt,
                        "{path:?}: its blobs hold {} bytes, the snapshot records {}",
                        content.count,
                        n.size
                    );
                }
                self.summary.files += 1;
                self.summary.bytes += n.size;
                Ok(())
            }
            NodeKind::Symlink => {
                sink.symlink(path, n)?;
                self.summary.others += 1;
                Ok(())
            }
            NodeKind::Socket => {
                self.summary.left_out.push((path.to_string(), "socket"));
                Ok(())
            }
            kind => {
                if sink.special(path, n)? {
                    self.summary.others += 1;
                } else {
                    self.summary
                        .left_out
                        .push((path.to_string(), kind.describe()));
                }
                Ok(())
            }
        }
    }
}

/// Counts what passes through, to check a file's blobs against its recorded size.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn path_of(p: &str) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(p.as_bytes()))
}

struct TarSink<'a, W: Write>(&'a mut tar::Builder<W>);

impl<W: Write> TarSink<'_, W> {
    fn header(&mut self, n: &Node, kind: tar::EntryType, size: u64) -> Result<tar::Header> {
        // PAX records: the mtime's nanoseconds (the header holds whole seconds) and the
        // attributes, as GNU tar and bsdtar read them.
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        if n.mtime.nsec != 0 {
            let t = format!("{}.{:09}", n.mtime.sec, n.mtime.nsec);
            pax.push(("mtime".into(), t.into_bytes()));
        }
        for x in &n.xattrs {
            let key = format!("SCHILY.xattr.{}", String::from_utf8_lossy(&x.name));
            pax.push((key, x.value.clone()));
        }
        if !pax.is_empty() {
            self.0
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(n.mode & 0o7777);
        h.set_uid(n.uid.into());
        h.set_gid(n.gid.into());
        h.set_mtime(n.mtime.sec.max(0) as u64);
        h.set_size(size);
        Ok(h)
    }
}

impl<W: Write> Sink for TarSink<'_, W> {
    fn dir(&mut self, path: &str, n: &Node) -> Result<()> {
        let mut h = self.header(n, tar::EntryType::Directory, 0)?;
        // A directory's name ends in '/', as tar(1) writes it.
        self.0
            .append_data(&mut h, path_of(&format!("{path}/")), io::empty())?;
        Ok(())
    }

    fn file(&mut self, path: &str, n: &Node, content: &mut dyn Read, _: bool) -> Result<()> {
        let mut h = self.header(n, tar::EntryType::Regular, n.size)?;
        // tar writes exactly `size` bytes: a short content fails here, a long one is cut (and the
        // walker's count then differs from the recorded size).
        self.0
            .append_data(&mut h, path_of(path), content.take(n.size))?;
        Ok(())
    }

    fn symlink(&mut self, path: &str, n: &Node) -> Result<()> {
        let mut h = self.header(n, tar::EntryType::Symlink, 0)?;
        let target = path_of(&String::from_utf8_lossy(&n.link_target));
        self.0.append_link(&mut h, path_of(path), target)?;
        Ok(())
    }

    fn hardlink(&mut self, path: &str, n: &Node, first: &str) -> Result<bool> {
        let mut h = self.header(n, tar::EntryType::Link, 0)?;
        self.0.append_link(&mut h, path_of(path), path_of(first))?;
        Ok(true)
    }

    fn special(&mut self, path: &str, n: &Node) -> Result<bool> {
        let kind = match n.kind {
            NodeKind::Fifo => tar::EntryType::Fifo,
            NodeKind::CharDevice => tar::EntryType::Char,
            NodeKind::BlockDevice => tar::EntryType::Block,
            _ => return Ok(false),
        };
        let mut h = self.header(n, kind, 0)?;
        if n.kind.is_device() {
            h.set_device_major(rustix::fs::major(n.rdev))?;
            h.set_device_minor(rustix::fs::minor(n.rdev))?;
        }
        self.0.append_data(&mut h, path_of(path), io::empty())?;
        Ok(true)
    }
}

struct ZipSink<'a, W: Write>(&'a mut zip::ZipWriter<zip::write::StreamWriter<W>>);

fn zip_options(n: &Node) -> zip::write::SimpleFileOptions {
    let t = chrono::DateTime::from_timestamp(n.mtime.sec, 0).map(|t| t.naive_utc());
    let time = t
        .and_then(|t| {
            use chrono::{Datelike, Timelike};
            zip::DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default();
    zip::write::SimpleFileOptions::default()
        .last_modified_time(time)
        .unix_permissions(n.mode & 0o7777)
        .large_file(n.size >= u32::MAX as u64)
}

fn zip_err(e: zip::result::ZipError, path: &str) -> Error {
    match e {
        zip::result::ZipError::Io(io) => io_error(io, path),
        e => err!(Io, "writing {path:?} to the zip archive: {e}"),
    }
}

impl<W: Write> Sink for ZipSink<'_, W> {
    fn dir(&mut self, path: &str, n: &Node) -> Result<()> {
        self.0
            .add_directory(format!("{path}/"), zip_options(n))
            .map_err(|e| zip_err(e, path))
    }

    fn file(
        &mut self,
        path: &str,
        n: &Node,
        content: &mut dyn Read,
        compressed: bool,
    ) -> Result<()> {
        // What the repository found not worth compressing (media) is stored as it is.
        let method = if compressed {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip_options(n).compression_method(method);
        self.0
            .start_file(path, opts)
            .map_err(|e| zip_err(e, path))?;
        io::copy(&mut content.take(n.size), self.0)?;
        Ok(())
    }

    fn symlink(&mut self, path: &str, n: &Node) -> Result<()> {
        let target = String::from_utf8_lossy(&n.link_target).into_owned();
        self.0
            .add_symlink(path, target, zip_options(n))
            .map_err(|e| zip_err(e, path))
    }

    fn hardlink(&mut self, _: &str, _: &Node, _: &str) -> Result<bool> {
        Ok(false)
    }

    fn special(&mut self, _: &str, _: &Node) -> Result<bool> {
        Ok(false)
    }
}
