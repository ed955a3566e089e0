//! Power-cut model test. Sequences of operations (edit the source tree, backup, forget, prune,
//! repair index) run through the library on a local backend over the simulated file system
//! ([`super::sim`]); the power goes at a random file-system operation inside one of them, or just
//! after it returned. After every power cut the repository must open, `check --read-data` must find
//! no error, every snapshot whose backup returned must be listed (unless a forget returned after
//! deleting it) and restore byte for byte as its source was, and the next operations must work.
//!
//! Cases: 24 by default. For a long soak set `BACKSTOCK_POWER_CUT_CASES`, e.g.
//! `BACKSTOCK_POWER_CUT_CASES=10000 cargo test --release --lib power_cut_model`.

use super::sim::SimFs;
use super::LocalBackend;
use crate::archiver::{self, BackupOptions, Progress};
use crate::crypto::kdf::KdfParams;
use crate::ids::SnapshotId;
use crate::maintenance::check::{self, CheckReport, ReadData};
use crate::maintenance::forget::{self, ForgetOptions, ForgetReport, Policy};
use crate::maintenance::prune::{self, PruneOptions};
use crate::maintenance::repair;
use crate::repository::{OpenOptions, Repository};
use crate::restorer::{self, RestoreOptions, RestoreProgress};
/// Any error: the layers these tests drive return different ones.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// What the runs covered, printed at the end: power cuts inside an operation, power cuts after one
/// returned, file-system operations made, snapshots restored and compared.
static CUTS_INSIDE: AtomicU64 = AtomicU64::new(0);
static CUTS_AFTER: AtomicU64 = AtomicU64::new(0);
static FS_OPS: AtomicU64 = AtomicU64::new(0);
static RESTORED: AtomicU64 = AtomicU64::new(0);

const PASSWORD: &[u8] = b"power-cut";
/// The source tree's files; edits pick among them.
const FILES: [&str; 5] = ["a.txt", "b.json", "sub/c.bin", "sub/deep/d.txt", "e.dat"];
type Files = BTreeMap<String, Vec<u8>>;

#[derive(Debug, Clone)]
enum Action {
    Edit {
        file: usize,
        seed: u64,
        len: usize,
    },
    Delete {
        file: usize,
    },
    Backup,
    ForgetLast(u32),
    /// Forgets the listed snapshot at this position.
    ForgetOne(prop::sample::Index),
    Prune {
        repack_all: bool,
    },
    Repair {
        read_all: bool,
    },
}

/// Where the power goes: before the mutating file-system operation after `after` of them (or just
/// after the action returns if it makes fewer); with `keep_some`, a random prefix of what was not
/// synced survives.
#[derive(Debug, Clone)]
struct Cut {
    after: u64,
    keep_some: bool,
}

fn action() -> impl Strategy<Value = Action> {
    let len = prop_oneof![4 => 0..6000usize, 1 => 50_000..400_000usize];
    prop_oneof![
        3 => (0..FILES.len(), any::<u64>(), len)
            .prop_map(|(file, seed, len)| Action::Edit { file, seed, len }),
        1 => (0..FILES.len()).prop_map(|file| Action::Delete { file }),
        4 => Just(Action::Backup),
        1 => (1..=3u32).prop_map(Action::ForgetLast),
        1 => any::<prop::sample::Index>().prop_map(Action::ForgetOne),
        2 => any::<bool>().prop_map(|repack_all| Action::Prune { repack_all }),
        1 => any::<bool>().prop_map(|read_all| Action::Repair { read_all }),
    ]
}

fn steps() -> impl Strategy<Value = (u64, Vec<(Action, Option<Cut>)>)> {
    let after = prop_oneof![3 => 0..24u64, 1 => 0..150u64];
    let cut = (after, any::<bool>()).prop_map(|(after, keep_some)| Cut { after, keep_some });
    let step = (action(), prop::option::weighted(0.6, cut));
    (any::<u64>(), prop::collection::vec(step, 1..=10))
}

// One adapter per library call, each as a command-line run makes it (lock, load the index, act), so
// that changes to these functions' signatures touch only these lines. The repository stays open
// between power cuts (opening it again only derives the same key again, the slowest part).

fn open(sim: &Arc<SimFs>) -> Result<Repository> {
    let backend = Arc::new(LocalBackend::with_fs("/sim/repo", sim.clone()));
    let opts = OpenOptions {
        no_cache: true,
        ..Default::default()
    };
    Ok(Repository::open(backend, PASSWORD, &opts)?)
}

fn do_backup(repo: &mut Repository, src: &Path) -> Result<SnapshotId> {
    let opts = BackupOptions {
        paths: vec![src.to_path_buf()],
        ..Default::default()
    };
    let res = archiver::backup(repo, &opts, &Progress::default())?;
    assert!(res.failures.is_empty(), "{:?}", res.failures);
    Ok(res.id.expect("not a dry run"))
}

fn do_forget(repo: &mut Repository, last: u32, ids: Vec<String>) -> Result<ForgetReport> {
    let opts = ForgetOptions {
        policy: Policy {
            last,
            ..Default::default()
        },
        ids,
        ..Default::default()
    };
    Ok(forget::forget(repo, &opts, chrono::Utc::now())?)
}

fn do_prune(repo: &mut Repository, repack_all: bool) -> Result<()> {
    let opts = PruneOptions {
        max_unused_percent: if repack_all { 0.0 } else { 5.0 },
        ..Default::default()
    };
    prune::prune(repo, &opts)?;
    Ok(())
}

fn do_repair(repo: &mut Repository, read_all: bool) -> Result<()> {
    let opts = repair::RepairIndexOptions {
        read_all_packs: read_all,
        ..Default::default()
    };
    repair::repair_index(repo, &opts)?;
    Ok(())
}

fn do_check(repo: &mut Repository) -> Result<CheckReport> {
    Ok(check::check(repo, ReadData::All)?)
}

fn do_list(repo: &mut Repository) -> Result<Vec<SnapshotId>> {
    Ok(repo.snapshots()?.into_iter().map(|(id, _)| id).collect())
}

/// Restores the backed-up source directory of a snapshot into `target`.
fn do_restore(repo: &mut Repository, id: &SnapshotId, src: &Path, target: &Path) -> Result<()> {
    let lock = repo.lock(crate::repository::lock::LockKind::Read)?;
    repo.load_index(&lock)?;
    let snap = repo.find_snapshot(&id.to_hex(), &Default::default())?.1;
    let sub = src.to_string_lossy().trim_start_matches('/').to_string();
    let opts = RestoreOptions {
        target: target.to_path_buf(),
        ..Default::default()
    };
    let summary = restorer::restore(
        repo,
        &lock,
        &snap.tree,
        &sub,
        &opts,
        &RestoreProgress::default(),
    )?;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    Ok(())
}

/// Removes every lock: after a reboot, the processes that held them are gone.
fn do_reboot_unlock(repo: &mut Repository) -> Result<()> {
    repo.unlock(true)?;
    Ok(())
}

fn content(seed: u64, len: usize) -> Vec<u8> {
    // Text-like and compressible, with repeats across seeds so that some chunks deduplicate.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed % 7);
    let words: Vec<String> = (0..64)
        .map(|i| format!("word{i}-{} ", rng.gen::<u16>()))
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        out.extend_from_slice(words[rng.gen_range(0..words.len())].as_bytes());
    }
    out.truncate(len);
    out
}

fn read_tree(root: &Path) -> Files {
    fn walk(root: &Path, dir: &Path, out: &mut Files) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = Files::new();
    walk(root, root, &mut out);
    out
}

/// One sequence's state: the source tree and what the repository must hold.
struct World {
    sim: Arc<SimFs>,
    repo: Repository,
    tmp: tempfile::TempDir,
    src: PathBuf,
    /// Snapshots reported saved, with their source; `true` when a forget may have deleted it.
    model: BTreeMap<SnapshotId, (Files, bool)>,
    /// The source of a backup that failed at a power cut: its snapshot may exist.
    pending: Option<Files>,
    mtime: i64,
    rng: rand_chacha::ChaCha8Rng,
}

impl World {
    fn new(seed: u64) -> World {
        let sim = Arc::new(SimFs::new());
        let backend = Arc::new(LocalBackend::with_fs("/sim/repo", sim.clone()));
        let kdf = KdfParams {
            m_cost: crate::crypto::kdf::M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        };
        let repo = Repository::init_with(backend, PASSWORD, kdf, Some(1 << 20)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let mut w = World {
            sim,
            repo,
            src,
            tmp,
            model: BTreeMap::new(),
            pending: None,
            mtime: 1_600_000_000,
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        };
        w.edit(0, seed, 3000);
        w.edit(2, seed ^ 1, 120_000);
        w
    }

    /// Writes a source file as a new inode with an mtime never used before, so that a backup's
    /// comparison with its parent always sees the change.
    fn edit(&mut self, file: usize, seed: u64, len: usize) {
        let p = self.src.join(FILES[file]);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let tmp = self.src.join(".edit");
        std::fs::write(&tmp, content(seed, len)).unwrap();
        self.mtime += 1;
        filetime::set_file_mtime(&tmp, filetime::FileTime::from_unix_time(self.mtime, 0)).unwrap();
        std::fs::rename(&tmp, &p).unwrap();
    }

    fn files(&self) -> Files {
        read_tree(&self.src)
    }

    /// Runs one action; returns whether it failed (only a power cut may make it fail).
    fn act(&mut self, action: &Action) -> bool {
        let sim = self.sim.clone();
        let failed = |r: Result<()>| match r {
            Ok(()) => false,
            Err(e) => {
                assert!(sim.is_dead(), "failed without a power cut: {e:#}");
                true
            }
        };
        match action {
            Action::Edit { file, seed, len } => {
                self.edit(*file, *seed, *len);
                false
            }
            Action::Delete { file } => {
                let _ = std::fs::remove_file(self.src.join(FILES[*file]));
                false
            }
            Action::Backup => {
                let files = self.files();
                match do_backup(&mut self.repo, &self.src) {
                    Ok(id) => {
                        self.model.insert(id, (files, false));
                        false
                    }
                    Err(e) => {
                        self.pending = Some(files);
                        failed(Err(e))
                    }
                }
            }
            Action::ForgetLast(_) | Action::ForgetOne(_) => {
                let (last, ids) = match action {
                    Action::ForgetLast(n) => (*n, Vec::new()),
                    Action::ForgetOne(i) => {
                        let listed = do_list(&mut self.repo).unwrap();
                        if listed.is_empty() {
                            return false;
                        }
                        (0, vec![i.get(&listed).to_hex()])
                    }
                    _ => unreachable!(),
                };
                match do_forget(&mut self.repo, last, ids) {
                    Ok(report) => {
                        let failed: HashSet<SnapshotId> =
                            report.failures.iter().map(|f| f.0).collect();
                        for d in report.groups.iter().flat_map(|g| &g.decisions) {
                            if d.keep {
                                continue;
                            }
                            if failed.contains(&d.id) {
                                if let Some(m) = self.model.get_mut(&d.id) {
                                    m.1 = true;
                                }
                            } else {
                                self.model.remove(&d.id);
                            }
                        }
                        !failed.is_empty() && {
                            assert!(self.sim.is_dead(), "{:?}", report.failures);
                            true
                        }
                    }
                    Err(e) => {
                        for m in self.model.values_mut() {
                            m.1 = true;
                        }
                        failed(Err(e))
                    }
                }
            }
            Action::Prune { repack_all } => failed(do_prune(&mut self.repo, *repack_all)),
            Action::Repair { read_all } => failed(do_repair(&mut self.repo, *read_all)),
        }
    }

    /// The power goes (if an armed cut has not already taken it), then comes back: the repository
    /// must be whole and hold every snapshot the model says it must.
    fn power_cut_and_verify(&mut self, keep_some: bool) {
        let mut rng = self.rng.clone();
        self.sim
            .power_cut(keep_some.then_some(&mut rng as &mut dyn rand::RngCore));
        self.rng = rng;
        self.sim.arm(None);
        self.repo = open(&self.sim).expect("the repository opens after a power cut");
        do_reboot_unlock(&mut self.repo).unwrap();
        let report = do_check(&mut self.repo).unwrap();
        assert!(report.errors.is_empty(), "check: {:#?}", report.errors);
        let listed = do_list(&mut self.repo).unwrap();
        for (id, (_, maybe_forgotten)) in &self.model {
            assert!(
                *maybe_forgotten || listed.contains(id),
                "snapshot {id}, reported saved, is gone"
            );
        }
        let pending = self.pending.take();
        let mut model = BTreeMap::new();
        for id in listed {
            let files = match self.model.remove(&id) {
                Some((files, _)) => files,
                None => pending
                    .clone()
                    .unwrap_or_else(|| panic!("snapshot {id} was never reported saved")),
            };
            let target = self.tmp.path().join(format!("restore-{id}"));
            do_restore(&mut self.repo, &id, &self.src, &target).unwrap();
            assert!(
                read_tree(&target) == files,
                "snapshot {id} restores differently"
            );
            std::fs::remove_dir_all(&target).unwrap();
            RESTORED.fetch_add(1, Relaxed);
            model.insert(id, (files, false));
        }
        // Everything is durable now: what is listed is what must stay.
        self.model = model;
    }
}

fn run(seed: u64, steps: &[(Action, Option<Cut>)]) {
    let mut w = World::new(seed);
    for (action, cut) in steps {
        w.sim.arm(cut.as_ref().map(|c| c.after));
        let failed = w.act(action);
        FS_OPS.fetch_add(w.sim.ops(), Relaxed);
        let is_repo_op = !matches!(action, Action::Edit { .. } | Action::Delete { .. });
        match cut {
            Some(c) if is_repo_op => {
                let counter = if w.sim.is_dead() {
                    &CUTS_INSIDE
                } else {
                    &CUTS_AFTER
                };
                counter.fetch_add(1, Relaxed);
                w.power_cut_and_verify(c.keep_some)
            }
            _ => assert!(!failed),
        }
        w.sim.arm(None);
    }
    // The end: whatever returned must be durable.
    w.power_cut_and_verify(false);
}

#[test]
fn power_cut_model() {
    let cases = std::env::var("BACKSTOCK_POWER_CUT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let config = Config {
        cases,
        max_shrink_iters: 256,
        source_file: Some(file!()),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let done = AtomicU64::new(0);
    let result = runner.run(&steps(), |(seed, steps)| {
        run(seed, &steps);
        let n = done.fetch_add(1, Relaxed) + 1;
        if n.is_multiple_of(1000) {
            eprintln!("power_cut_model: {n} sequences run");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "power_cut_model: {cases} sequences, {} power cuts inside an operation, {} after one, \
         {} file-system operations, {} snapshot restores compared",
        CUTS_INSIDE.load(Relaxed),
        CUTS_AFTER.load(Relaxed),
        FS_OPS.load(Relaxed),
        RESTORED.load(Relaxed)
    );
}
