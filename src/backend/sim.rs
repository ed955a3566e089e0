//! A simulated file system for tests, in memory, that keeps what was written apart from what is
//! durable and can lose power at any operation.
//!
//! Durability follows POSIX at its strictest: a file's data is durable once the file is fsynced; a
//! directory's entries (created, renamed, unlinked) are durable once that directory is fsynced, and
//! not before, whatever happened to the files. [`SimFs::power_cut`] drops everything else, or, as a
//! file system may persist some of it, keeps a random prefix of each directory's unsynced changes
//! and of each file's unsynced data. [`SimFs::arm`] makes the power go at a chosen operation: that
//! operation and every later one fail, as on a machine that stopped, until the next `power_cut`.

use super::vfs::{check_range, Fs, Kind, Meta, Refused};
use rand::Rng;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, ErrorKind};
use std::path::{Component, Path};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

type Ino = u64;
const ROOT: Ino = 0;

#[derive(Debug, Clone)]
enum DirOp {
    Link(String, Ino),
    Unlink(String),
    Rename { from: String, to: String, ino: Ino },
}

impl DirOp {
    fn apply(&self, entries: &mut BTreeMap<String, Ino>) {
        match self {
            DirOp::Link(name, ino) => {
                entries.insert(name.clone(), *ino);
            }
            DirOp::Unlink(name) => {
                entries.remove(name);
            }
            DirOp::Rename { from, to, ino } => {
                entries.remove(from);
                entries.insert(to.clone(), *ino);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    /// Files are written once: the durable content is always a prefix of `data`.
    File {
        data: Vec<u8>,
        synced: usize,
        modified: SystemTime,
    },
    Dir {
        entries: BTreeMap<String, Ino>,
        /// The entries as of the last fsync of this directory.
        durable: BTreeMap<String, Ino>,
        /// Changes since then, in order.
        log: Vec<DirOp>,
        modified: SystemTime,
    },
}

impl Node {
    fn new_dir(entries: BTreeMap<String, Ino>) -> Node {
        Node::Dir {
            durable: entries.clone(),
            entries,
            log: Vec::new(),
            modified: SystemTime::now(),
        }
    }

    fn meta(&self) -> Meta {
        match self {
            Node::File { data, modified, .. } => Meta {
                kind: Kind::File,
                len: data.len() as u64,
                modified: Some(*modified),
            },
            Node::Dir { modified, .. } => Meta {
                kind: Kind::Dir,
                len: 0,
                modified: Some(*modified),
            },
        }
    }
}

#[derive(Debug)]
struct State {
    nodes: HashMap<Ino, Node>,
    next: Ino,
    /// Mutating operations that still succeed before the power goes; `None`: no cut armed.
    cut_in: Option<u64>,
    dead: bool,
    /// Mutating operations since the last `arm`.
    ops: u64,
}

pub(crate) struct SimFs {
    state: Mutex<State>,
}

fn power_off() -> io::Error {
    io::Error::other("simulated power cut: the machine is off")
}

fn err(kind: ErrorKind, what: &str, rel: &Path) -> io::Error {
    io::Error::new(kind, format!("{what}: {}", rel.display()))
}

/// Splits a relative path into its names.
fn names(rel: &Path) -> io::Result<Vec<String>> {
    rel.components()
        .map(|c| match c {
            Component::Normal(n) => n
                .to_str()
                .map(str::to_string)
                .ok_or_else(|| err(ErrorKind::InvalidInput, "not UTF-8", rel)),
            _ => Err(err(
                ErrorKind::InvalidInput,
                "not a plain relative path",
                rel,
            )),
        })
        .collect()
}

impl State {
    /// Counts a mutating operation, or fails it if the power is (now) off.
    fn op(&mut self) -> io::Result<()> {
        if self.dead {
            return Err(power_off());
        }
        if let Some(n) = self.cut_in {
            if n == 0 {
                self.dead = true;
                return Err(power_off());
            }
            self.cut_in = Some(n - 1);
        }
        self.ops += 1;
        Ok(())
    }

    fn alive(&self) -> io::Result<()> {
        if self.dead {
            Err(power_off())
        } else {
            Ok(())
        }
    }

    fn lookup(&self, rel: &Path) -> io::Result<Option<Ino>> {
        let mut ino = ROOT;
        let mut walked = std::path::PathBuf::new();
        for name in names(rel)? {
            let Some(Node::Dir { entries, .. }) = self.nodes.get(&ino) else {
                return Err(Refused::NotDirectory(walked).into_io());
            };
            walked.push(&name);
            match entries.get(&name) {
                Some(i) => ino = *i,
                None => return Ok(None),
            }
        }
        Ok(Some(ino))
    }

    /// The parent directory's inode and the last name.
    fn parent(&self, rel: &Path) -> io::Result<(Ino, String)> {
        let mut all = names(rel)?;
        let name = all
            .pop()
            .ok_or_else(|| err(ErrorKind::InvalidInput, "names no file", rel))?;
        let parent: std::path::PathBuf = all.iter().collect();
        match self.lookup(&parent)? {
            Some(ino) if matches!(self.nodes.get(&ino), Some(Node::Dir { .. })) => Ok((ino, name)),
            Some(_) => Err(Refused::NotDirectory(parent).into_io()),
            None => Err(err(ErrorKind::NotFound, "no such directory", &parent)),
        }
    }

    fn dir_mut(&mut self, ino: Ino) -> (&mut BTreeMap<String, Ino>, &mut Vec<DirOp>) {
        match self.nodes.get_mut(&ino) {
            Some(Node::Dir { entries, log, .. }) => (entries, log),
            // `parent` only returns directories, and nodes are only removed by a power cut.
            _ => unreachable!("inode {ino} is not a directory"),
        }
    }

    fn link_new(&mut self, rel: &Path, node: Node) -> io::Result<Ino> {
        let (dir, name) = self.parent(rel)?;
        if self.dir_mut(dir).0.contains_key(&name) {
            return Err(err(ErrorKind::AlreadyExists, "exists", rel));
        }
        let ino = self.next;
        self.next += 1;
        self.nodes.insert(ino, node);
        let (entries, log) = self.dir_mut(dir);
        entries.insert(name.clone(), ino);
        log.push(DirOp::Link(name, ino));
        Ok(ino)
    }

    fn file(&self, rel: &Path) -> io::Result<&[u8]> {
        match self.lookup(rel)?.and_then(|i| self.nodes.get(&i)) {
            Some(Node::File { data, .. }) => Ok(data),
            Some(Node::Dir { .. }) => Err(Refused::NotRegular(rel.to_path_buf()).into_io()),
            None => Err(err(ErrorKind::NotFound, "no such file", rel)),
        }
    }

    /// Rebuilds the tree from what is durable (plus, with `rng`, random prefixes of the rest),
    /// dropping every node no longer reachable.
    fn collapse(&mut self, ino: Ino, rng: &mut Option<&mut dyn rand::RngCore>, out: &mut Self) {
        let Some(node) = self.nodes.remove(&ino) else {
            return;
        };
        let kept = match node {
            Node::File {
                mut data,
                synced,
                modified,
            } => {
                let keep = match rng {
                    Some(r) => r.gen_range(synced..=data.len()),
                    None => synced,
                };
                data.truncate(keep);
                Node::File {
                    data,
                    synced: keep,
                    modified,
                }
            }
            Node::Dir {
                mut durable,
                log,
                modified,
                ..
            } => {
                let keep = match rng {
                    Some(r) => r.gen_range(0..=log.len()),
                    None => 0,
                };
                for op in &log[..keep] {
                    op.apply(&mut durable);
                }
                for child in durable.values() {
                    self.collapse(*child, rng, out);
                }
                let mut d = Node::new_dir(durable);
                if let Node::Dir { modified: m, .. } = &mut d {
                    *m = modified;
                }
                d
            }
        };
        out.nodes.insert(ino, kept);
    }
}

impl SimFs {
    /// An empty, durable root directory.
    pub fn new() -> SimFs {
        SimFs {
            state: Mutex::new(State {
                nodes: HashMap::from([(ROOT, Node::new_dir(BTreeMap::new()))]),
                next: ROOT + 1,
                cut_in: None,
                dead: false,
                ops: 0,
            }),
        }
    }

    /// Removes an empty directory (not an operation the backend makes: tests use it to set up).
    pub fn remove_dir(&self, rel: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let (dir, name) = s.parent(rel)?;
        let ino = s.dir_mut(dir).0.get(&name).copied();
        match ino.and_then(|i| s.nodes.get(&i)) {
            Some(Node::Dir { entries, .. }) if entries.is_empty() => {}
            _ => return Err(err(ErrorKind::InvalidInput, "not an empty directory", rel)),
        }
        let (entries, log) = s.dir_mut(dir);
        entries.remove(&name);
        log.push(DirOp::Unlink(name));
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The power goes at the mutating operation after the next `after` ones (`None`: never);
    /// resets the operation count.
    pub fn arm(&self, after: Option<u64>) {
        let mut s = self.lock();
        s.cut_in = after;
        s.ops = 0;
    }

    /// Whether an armed cut has happened (and the power is still off).
    pub fn is_dead(&self) -> bool {
        self.lock().dead
    }

    /// Mutating operations since the last `arm`.
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// Loses power: whatever is not durable is dropped, except, with `rng`, a random prefix of each
    /// directory's unsynced changes and of each file's unsynced data. The power then comes back.
    pub fn power_cut(&self, mut rng: Option<&mut dyn rand::RngCore>) {
        let mut s = self.lock();
        let mut out = State {
            nodes: HashMap::new(),
            next: s.next,
            cut_in: None,
            dead: false,
            ops: 0,
        };
        s.collapse(ROOT, &mut rng, &mut out);
        *s = out;
    }

    /// A rename, refused when the target exists unless `replace`.
    fn rename_to(&self, from: &Path, to: &Path, replace: bool) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let (dir, from_name) = s.parent(from)?;
        let (to_dir, to_name) = s.parent(to)?;
        if dir != to_dir {
            return Err(err(ErrorKind::Unsupported, "rename across directories", to));
        }
        let (entries, log) = s.dir_mut(dir);
        if !replace && entries.contains_key(&to_name) {
            return Err(err(ErrorKind::AlreadyExists, "file exists", to));
        }
        let ino = entries
            .remove(&from_name)
            .ok_or_else(|| err(ErrorKind::NotFound, "no such file", from))?;
        entries.insert(to_name.clone(), ino);
        log.push(DirOp::Rename {
            from: from_name,
            to: to_name,
            ino,
        });
        Ok(())
    }
}

impl Fs for SimFs {
    fn create_root(&self) -> io::Result<()> {
        self.lock().alive()
    }

    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        s.link_new(rel, Node::new_dir(BTreeMap::new())).map(drop)
    }

    fn write_new(&self, rel: &Path, data: &[u8], _direct: bool) -> io::Result<()> {
        let mut s = self.lock();
        // Creating and writing is one operation, the fsync another: the power may go between.
        s.op()?;
        let ino = s.link_new(
            rel,
            Node::File {
                data: data.to_vec(),
                synced: 0,
                modified: SystemTime::now(),
            },
        )?;
        s.op()?;
        if let Some(Node::File { data, synced, .. }) = s.nodes.get_mut(&ino) {
            *synced = data.len();
        }
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.rename_to(from, to, true)
    }

    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.rename_to(from, to, false)
    }

    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let ino = s
            .lookup(rel)?
            .ok_or_else(|| err(ErrorKind::NotFound, "no such directory", rel))?;
        match s.nodes.get_mut(&ino) {
            Some(Node::Dir {
                entries,
                durable,
                log,
                ..
            }) => {
                *durable = entries.clone();
                log.clear();
                Ok(())
            }
            _ => Err(Refused::NotDirectory(rel.to_path_buf()).into_io()),
        }
    }

    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let (dir, name) = s.parent(rel)?;
        let ino = s.dir_mut(dir).0.get(&name).copied();
        match ino.and_then(|i| s.nodes.get(&i)) {
            Some(Node::File { .. }) => {}
            Some(Node::Dir { .. }) => return Err(err(ErrorKind::IsADirectory, "directory", rel)),
            None => return Err(err(ErrorKind::NotFound, "no such file", rel)),
        }
        let (entries, log) = s.dir_mut(dir);
        entries.remove(&name);
        log.push(DirOp::Unlink(name));
        Ok(())
    }

    fn read(&self, rel: &Path, max: u64) -> io::Result<Vec<u8>> {
        let s = self.lock();
        s.alive()?;
        let data = s.file(rel)?;
        let len = data.len() as u64;
        if len > max {
            return Err(Refused::TooLarge { len, max }.into_io());
        }
        Ok(data.to_vec())
    }

    fn read_range_into(
        &self,
        rel: &Path,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
        _direct: bool,
    ) -> io::Result<()> {
        let s = self.lock();
        s.alive()?;
        let data = s.file(rel)?;
        check_range(offset, len, data.len() as u64)?;
        buf.clear();
        buf.extend_from_slice(&data[offset as usize..(offset + len) as usize]);
        Ok(())
    }

    fn stat(&self, rel: &Path) -> io::Result<Option<Meta>> {
        let s = self.lock();
        s.alive()?;
        Ok(s.lookup(rel)?.and_then(|i| s.nodes.get(&i)).map(Node::meta))
    }

    fn list(&self, rel: &Path) -> io::Result<Vec<(String, Meta)>> {
        let s = self.lock();
        s.alive()?;
        match s.lookup(rel)?.and_then(|i| s.nodes.get(&i)) {
            Some(Node::Dir { entries, .. }) => Ok(entries
                .iter()
                .filter_map(|(name, ino)| Some((name.clone(), s.nodes.get(ino)?.meta())))
                .collect()),
            Some(Node::File { .. }) => Err(Refused::NotDirectory(rel.to_path_buf()).into_io()),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn p(s: &str) -> &Path {
        Path::new(s)
    }

    #[test]
    fn only_synced_state_survives_a_power_cut() {
        let fs = SimFs::new();
        fs.create_dir(p("d")).unwrap();
        fs.sync_dir(p("")).unwrap();
        fs.write_new(p("d/synced"), b"one", false).unwrap();
        fs.sync_dir(p("d")).unwrap();
        fs.write_new(p("d/unsynced-entry"), b"two", false).unwrap();
        fs.remove_file(p("d/synced")).unwrap();
        fs.create_dir(p("lost")).unwrap();
        fs.power_cut(None);
        assert_eq!(fs.read(p("d/synced"), 10).unwrap(), b"one");
        assert!(fs.stat(p("d/unsynced-entry")).unwrap().is_none());
        assert!(fs.stat(p("lost")).unwrap().is_none());
        assert!(fs.read(p("d/synced"), 2).is_err(), "the size cap applies");
    }

    #[test]
    fn an_armed_cut_stops_everything_until_the_power_cut() {
        let fs = SimFs::new();
        fs.arm(Some(1));
        fs.create_dir(p("d")).unwrap();
        // The second operation (the file's fsync) is where the power goes.
        assert!(fs.write_new(p("d/f"), b"data", false).is_err());
        assert!(fs.is_dead());
        assert!(fs.stat(p("d")).is_err());
        fs.power_cut(None);
        assert!(!fs.is_dead());
        assert!(
            fs.stat(p("d")).unwrap().is_none(),
            "the root was never synced"
        );
        fs.create_dir(p("d")).unwrap();
        fs.write_new(p("d/f"), b"data", false).unwrap();
        fs.sync_dir(p("")).unwrap();
        fs.power_cut(None);
        // The file's entry was never synced in d.
        assert!(fs.stat(p("d/f")).unwrap().is_none());
    }

    #[test]
    fn a_random_prefix_of_unsynced_changes_may_survive() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..64 {
            let fs = SimFs::new();
            fs.write_new(p("a"), b"a", false).unwrap();
            fs.rename(p("a"), p("b")).unwrap();
            fs.remove_file(p("b")).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            fs.power_cut(Some(&mut rng));
            let names: Vec<String> = fs.list(p("")).unwrap().into_iter().map(|e| e.0).collect();
            seen.insert(names);
        }
        // Nothing, a, b, then nothing again: every prefix, never a state out of order.
        let want: std::collections::HashSet<Vec<String>> =
            [vec![], vec!["a".to_string()], vec!["b".to_string()]].into();
        assert_eq!(seen, want);
    }
}
