//! `backstock bench`: replays simulated days of a synthetic store export into a fresh repository
//! (and optionally a restic repository) and measures every step.
//!
//! Every step runs as a subprocess (the backstock binary given in [`BenchOptions::backstock`], and
//! `restic`), timed with a wall clock and with its peak RSS sampled from /proc (see
//! [`crate::measure`]). Day `d`'s backup gets the snapshot time `start + d days`, so retention
//! policies see distinct days. Nothing here prints: progress goes through a callback and the
//! figures come back as a [`BenchReport`].

use crate::generate::{StoreGenerator, StoreParams};
use crate::measure::{self, compare_trees, run_measured, Step, TreeCheck};
use crate::via::{Storage, Via};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Days, NaiveDateTime};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Password of the benchmark repositories (they are thrown away).
const PASSWORD: &str = "backstock-bench";
/// Name of the export directory, as backed up (`shop`, from inside the work dir's `export/`).
const EXPORT_NAME: &str = "shop";
/// Files whose contents are compared after restoring the latest snapshot, besides a sample.
const HASH_SAMPLE: usize = 200;

/// Progress callback: step description, steps done, steps in total.
pub type ProgressFn<'a> = &'a dyn Fn(&str, usize, usize);

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub store: StoreParams,
    /// Simulated days after the initial export (one backup each, plus the initial backup).
    pub days: usize,
    /// Retention flags given to `forget` of both tools, e.g. `["--keep-daily", "7"]`.
    pub policy: Vec<String>,
    /// The backstock executable to measure.
    pub backstock: PathBuf,
    /// The restic executable, when comparing.
    pub restic: Option<PathBuf>,
    /// Work directory to use and keep; a temporary one (removed at the end) when `None`.
    pub dir: Option<PathBuf>,
    /// Snapshot time of day 0 (local time); day `d` is `start + d days`.
    pub start: NaiveDateTime,
    /// Where the repositories live.
    pub via: Via,
    /// Extra global flags for every backstock command (e.g. `--connections 1`).
    pub backstock_args: Vec<String>,
}

/// Size of the export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ExportSize {
    pub files: usize,
    pub bytes: u64,
}

/// The store parameters as run.
#[derive(Debug, Clone, Serialize)]
pub struct ParamsReport {
    pub products: usize,
    pub customers: usize,
    pub days: usize,
    pub media_per_product: f64,
    pub orders_per_day: usize,
    pub edit_rate: f64,
    pub add_rate: f64,
    pub delete_rate: f64,
    pub customer_edit_rate: f64,
    pub theme_edit_every_days: usize,
    pub seed: u64,
    pub policy: Vec<String>,
    pub start_time: String,
}

/// Figures of one tool.
#[derive(Debug, Clone, Serialize)]
pub struct ToolFigures {
    pub first_backup: Step,
    /// Backups of days 1..=D.
    pub daily_backups: Vec<Step>,
    pub daily_backup_median_secs: Option<f64>,
    pub daily_backup_max_secs: Option<f64>,
    /// Largest peak RSS among the daily backups.
    pub daily_backup_peak_rss_bytes: Option<u64>,
    /// Repository size after each backup (day 0 first).
    pub repo_bytes_after_backup: Vec<u64>,
    /// Median of the growth each daily backup added.
    pub growth_per_version_median_bytes: Option<f64>,
    /// Repository size after the last backup.
    pub repo_bytes: u64,
    /// `repo_bytes` / size of the latest export.
    pub repo_to_export_ratio: f64,
    pub restore_latest: Step,
    /// The latest snapshot restored equal to the export (checked; the run fails otherwise).
    pub restore_latest_check: TreeCheck,
    /// Restoring one product file from the oldest snapshot (its contents are checked).
    pub restore_file: Step,
    /// `None` when the step could not run where the repositories live (see `skipped`).
    pub forget_prune: Option<Step>,
    pub snapshots_after_forget: Option<usize>,
    pub repo_bytes_after_prune: Option<u64>,
    pub check: Option<Step>,
    /// Why forget, prune and check were not run, if they were not.
    pub skipped: Option<&'static str>,
}

/// How a figure is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Bytes,
    Ratio,
}

/// One scalar figure, for tables and ratios.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: Unit,
    pub value: Option<f64>,
}

impl ToolFigures {
    /// The scalar figures, in table order.
    #[rustfmt::skip]
    pub fn figures(&self) -> Vec<Figure> {
        use Unit::*;
        let rss = |s: &Step| s.peak_rss_bytes.map(|b| b as f64);
        let f = |key, label, unit, value| Figure { key, label, unit, value };
        vec![
            f("first_backup_secs", "first backup", Seconds, Some(self.first_backup.secs)),
            f("first_backup_peak_rss_bytes", "  peak RSS", Bytes, rss(&self.first_backup)),
            f("daily_backup_median_secs", "daily backup, median", Seconds, self.daily_backup_median_secs),
            f("daily_backup_max_secs", "daily backup, max", Seconds, self.daily_backup_max_secs),
            f("daily_backup_peak_rss_bytes", "  peak RSS (max)", Bytes, self.daily_backup_peak_rss_bytes.map(|b| b as f64)),
            f("growth_per_version_median_bytes", "repository growth per version, median", Bytes, self.growth_per_version_median_bytes),
            f("repo_bytes", "repository size", Bytes, Some(self.repo_bytes as f64)),
            f("repo_to_export_ratio", "repository size / latest export size", Ratio, Some(self.repo_to_export_ratio)),
            f("restore_latest_secs", "restore latest snapshot", Seconds, Some(self.restore_latest.secs)),
            f("restore_latest_peak_rss_bytes", "  peak RSS", Bytes, rss(&self.restore_latest)),
            f("restore_file_secs", "restore one file from the oldest", Seconds, Some(self.restore_file.secs)),
            f("restore_file_peak_rss_bytes", "  peak RSS", Bytes, rss(&self.restore_file)),
            f("forget_prune_secs", "forget + prune", Seconds, self.forget_prune.map(|s| s.secs)),
            f("forget_prune_peak_rss_bytes", "  peak RSS", Bytes, self.forget_prune.as_ref().and_then(rss)),
            f("repo_bytes_after_prune", "repository size after prune", Bytes, self.repo_bytes_after_prune.map(|b| b as f64)),
            f("check_secs", "check", Seconds, self.check.map(|s| s.secs)),
            f("check_peak_rss_bytes", "  peak RSS", Bytes, self.check.as_ref().and_then(rss)),
        ]
    }
}

/// Everything `backstock bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub params: ParamsReport,
    pub export_initial: ExportSize,
    pub export_latest: ExportSize,
    /// The product file restored from the oldest snapshot (relative to the export).
    pub restored_file: String,
    pub backstock: ToolFigures,
    pub restic: Option<ToolFigures>,
    pub restic_version: Option<String>,
    /// backstock / restic for every figure both have (keys as in [`ToolFigures::figures`]).
    pub ratios: Option<BTreeMap<String, f64>>,
    /// Where the repositories lived.
    pub storage: String,
    /// The work directory, when it was kept (`--dir`).
    pub work_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Backstock,
    Restic,
}

/// One tool with its repository and cache under the work dir.
struct Tool {
    kind: Kind,
    name: &'static str,
    exe: PathBuf,
    dir: PathBuf,
    /// The repository as `-r` names it.
    location: std::ffi::OsString,
    /// The directory that holds the repository's files.
    repo: PathBuf,
    cache: PathBuf,
    env: Vec<(&'static str, &'static str)>,
    env_removed: &'static [&'static str],
    /// Extra global flags for every command.
    extra: Vec<String>,
    /// Why forget, prune and check cannot run for this tool where the repositories are.
    skip_maintenance: Option<&'static str>,
}

impl Tool {
    fn new(
        kind: Kind,
        exe: &Path,
        work: &Path,
        storage: &Storage,
        extra: &[String],
    ) -> Result<Tool> {
        let name = match kind {
            Kind::Backstock => "backstock",
            Kind::Restic => "restic",
        };
        let dir = work.join(name);
        let cache = dir.join("cache");
        fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
        let (location, repo) = storage.repository(name, &dir.join("repo"))?;
        Ok(Tool {
            kind,
            name,
            exe: exe.to_path_buf(),
            location,
            repo,
            dir,
            cache,
            env: storage.env(),
            env_removed: storage.env_removed(),
            extra: extra.to_vec(),
            skip_maintenance: match kind {
                Kind::Restic => storage.restic_cannot_list(),
                Kind::Backstock => None,
            },
        })
    }

    /// A command with the global flags (repository, cache, quiet) and the password set.
    fn command(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.current_dir(cwd)
            .arg("-r")
            .arg(&self.location)
            .arg("--cache-dir")
            .arg(&self.cache)
            .arg("-q")
            .args(&self.extra);
        match self.kind {
            Kind::Backstock => {
                c.env("BACKSTOCK_PASSWORD", PASSWORD)
                    .env_remove("BACKSTOCK_PASSWORD_FILE")
                    .env_remove("BACKSTOCK_REPOSITORY");
            }
            Kind::Restic => {
                c.env("RESTIC_PASSWORD", PASSWORD);
                for v in [
                    "RESTIC_PASSWORD_FILE",
                    "RESTIC_PASSWORD_COMMAND",
                    "RESTIC_REPOSITORY",
                    "RESTIC_REPOSITORY_FILE",
                ] {
                    c.env_remove(v);
                }
            }
        }
        for v in self.env_removed {
            c.env_remove(v);
        }
        c.envs(self.env.iter().copied());
        c.args(args);
        c
    }

    fn run(&self, cwd: &Path, args: &[&str]) -> Result<measure::Measured> {
        run_measured(&mut self.command(cwd, args))
            .with_context(|| format!("{} {}", self.name, args.first().unwrap_or(&"")))
    }

    /// The ID of the snapshot with the earliest time.
    fn oldest_snapshot(&self, cwd: &Path) -> Result<String> {
        let out = self.run(cwd, &["snapshots", "--json"])?;
        let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("parsing `{} snapshots --json`", self.name))?;
        let mut best: Option<(DateTime<chrono::FixedOffset>, String)> = None;
        for s in &list {
            let (Some(time), Some(id)) = (s["time"].as_str(), s["id"].as_str()) else {
                bail!(
                    "{} snapshots --json: entry without time or id: {s}",
                    self.name
                );
            };
            let t = DateTime::parse_from_rfc3339(time)
                .with_context(|| format!("{}: snapshot time {time:?}", self.name))?;
            if best.as_ref().is_none_or(|(b, _)| t < *b) {
                best = Some((t, id.to_string()));
            }
        }
        best.map(|(_, id)| id)
            .with_context(|| format!("{} has no snapshots", self.name))
    }

    /// The include pattern that selects `rel` (relative to the export) in a snapshot.
    fn include_pattern(&self, rel: &str) -> String {
        match self.kind {
            Kind::Backstock => format!("{EXPORT_NAME}/{rel}"),
            Kind::Restic => format!("/{EXPORT_NAME}/{rel}"),
        }
    }
}

/// A tool's figures as they are collected.
struct Run {
    tool: Tool,
    first: Step,
    daily: Vec<Step>,
    sizes: Vec<u64>,
}

/// Counts steps for the progress callback.
struct Progress<'a> {
    cb: ProgressFn<'a>,
    done: usize,
    total: usize,
}

impl Progress<'_> {
    fn start(&mut self, what: &str) {
        (self.cb)(what, self.done, self.total);
    }
    fn finish(&mut self) {
        self.done += 1;
    }
}

fn export_size(dir: &Path) -> Result<ExportSize> {
    let files = measure::list_files(dir)?;
    Ok(ExportSize {
        files: files.len(),
        bytes: files.values().sum(),
    })
}

fn remove_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

/// Prepares the work dir: the given one (created, must be empty) or a temporary one.
fn work_dir(dir: &Option<PathBuf>) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(d) => {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            let mut entries =
                fs::read_dir(d).with_context(|| format!("listing {}", d.display()))?;
            if entries.next().is_some() {
                bail!(
                    "--dir {} is not empty: give a new or empty directory",
                    d.display()
                );
            }
            let canon = d
                .canonicalize()
                .with_context(|| format!("resolving {}", d.display()))?;
            Ok((canon, None))
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("backstock-bench-")
                .tempdir()
                .context("creating a temporary work directory")?;
            Ok((t.path().to_path_buf(), Some(t)))
        }
    }
}

/// The `restic` executable to compare with: the first one on `PATH`.
pub fn find_restic() -> Result<PathBuf> {
    which::which("restic")
        .context("`restic` was not found on PATH (install it, e.g. `apt-get install restic`)")
}

/// The `s3s-fs` S3 server for `--via s3`: the first one on `PATH`.
pub fn find_s3s_fs() -> Result<PathBuf> {
    which::which("s3s-fs").context(
        "`s3s-fs` was not found on PATH (install it: cargo install s3s-fs --version 0.14.1 --features binary --locked)",
    )
}

/// Runs the benchmark. The work directory is removed at the end (also on error) unless
/// `opts.dir` was given.
pub fn run(opts: &BenchOptions, progress: ProgressFn) -> Result<BenchReport> {
    let (work, _guard) = work_dir(&opts.dir)?;
    let parent = work.join("export");
    let export = parent.join(EXPORT_NAME);
    // Declared after the work dir's guard, so the server stops before its files are removed.
    let storage = Storage::start(&opts.via, &work)?;
    let mut tools = vec![Tool::new(
        Kind::Backstock,
        &opts.backstock,
        &work,
        &storage,
        &opts.backstock_args,
    )?];
    if let Some(r) = &opts.restic {
        tools.push(Tool::new(Kind::Restic, r, &work, &storage, &[])?);
    }
    let restic_version = match &opts.restic {
        Some(r) => {
            let out = run_measured(Command::new(r).arg("version"))?;
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        None => None,
    };
    let t = tools.len();
    let mut p = Progress {
        cb: progress,
        done: 0,
        total: 1 + opts.days + (opts.days + 1) * t + 4 * t,
    };
    for tool in &tools {
        tool.run(&work, &["init"])?;
    }

    p.start("writing the initial export");
    let mut generator = StoreGenerator::new(opts.store.clone());
    generator.write_initial(&export)?;
    p.finish();
    let export_initial = export_size(&export)?;
    // A product file of the oldest snapshot, and its contents then.
    let paths = generator.product_paths();
    let product = paths
        .get(paths.len() / 2)
        .context("the export has no products: use --products 1 or more")?;
    let product = product
        .to_str()
        .context("product path is not UTF-8")?
        .to_string();
    let product_hash = measure::hash_file(&export.join(&product))?;

    let mut runs: Vec<Run> = tools
        .into_iter()
        .map(|tool| Run {
            tool,
            first: Step::default(),
            daily: Vec::new(),
            sizes: Vec::new(),
        })
        .collect();
    for day in 0..=opts.days {
        if day > 0 {
            p.start(&format!("day {day}: changing the export"));
            generator.advance_day(&export)?;
            p.finish();
        }
        let time = opts
            .start
            .checked_add_days(Days::new(day as u64))
            .context("--start plus --days is out of range")?
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        for r in &mut runs {
            p.start(&format!("day {day}: {} backup", r.tool.name));
            let m = r
                .tool
                .run(&parent, &["backup", EXPORT_NAME, "--time", &time])?;
            r.sizes.push(measure::dir_size(&r.tool.repo)?);
            if day == 0 {
                r.first = m.step;
            } else {
                r.daily.push(m.step);
            }
            p.finish();
        }
    }
    let export_latest = export_size(&export)?;

    let end = Final {
        parent: &parent,
        export: &export,
        export_latest,
        product: &product,
        product_hash: &product_hash,
        policy: &opts.policy,
    };
    let mut figures = Vec::new();
    for r in &runs {
        figures.push(finish_tool(r, &end, &mut p)?);
    }
    (p.cb)("done", p.total, p.total);

    let mut figures = figures.into_iter();
    let backstock = figures.next().context("no backstock figures")?;
    let restic = figures.next();
    let ratios = restic.as_ref().map(|r| ratios(&backstock, r));
    Ok(BenchReport {
        params: ParamsReport {
            products: opts.store.products,
            customers: opts.store.customers,
            days: opts.days,
            media_per_product: opts.store.media_per_product,
            orders_per_day: opts.store.orders_per_day,
            edit_rate: opts.store.edit_rate,
            add_rate: opts.store.add_rate,
            delete_rate: opts.store.delete_rate,
            customer_edit_rate: opts.store.customer_edit_rate,
            theme_edit_every_days: opts.store.theme_edit_every_days,
            seed: opts.store.seed,
            policy: opts.policy.clone(),
            start_time: opts.start.format("%Y-%m-%d %H:%M:%S").to_string(),
        },
        export_initial,
        export_latest,
        restored_file: product,
        backstock,
        restic,
        restic_version,
        ratios,
        storage: storage.describe(),
        work_dir: opts.dir.as_ref().map(|_| work.clone()),
    })
}

/// What the steps after the last backup work with.
struct Final<'a> {
    /// Working directory of every command (holds the export).
    parent: &'a Path,
    export: &'a Path,
    export_latest: ExportSize,
    /// The product file to restore from the oldest snapshot, and its hash then.
    product: &'a str,
    product_hash: &'a str,
    policy: &'a [String],
}

/// Restores, forgets, prunes and checks with one tool, after all its backups.
fn finish_tool(r: &Run, end: &Final, p: &mut Progress) -> Result<ToolFigures> {
    let Final {
        parent,
        export,
        export_latest,
        product,
        product_hash,
        policy,
    } = *end;
    let tool = &r.tool;
    let repo_bytes = r.sizes.last().copied().unwrap_or(0);

    p.start(&format!("{}: restoring the latest snapshot", tool.name));
    let target = tool.dir.join("restore-latest");
    let t = target.to_string_lossy().into_owned();
    let restore_latest = tool
        .run(parent, &["restore", "latest", "--target", &t])?
        .step;
    let restore_latest_check = compare_trees(
        export,
        &target.join(EXPORT_NAME),
        HASH_SAMPLE,
        &["products.jsonl"],
    )
    .with_context(|| format!("{}: the restored latest snapshot is wrong", tool.name))?;
    remove_dir(&target)?;
    p.finish();

    p.start(&format!(
        "{}: restoring one file from the oldest",
        tool.name
    ));
    let oldest = tool.oldest_snapshot(parent)?;
    let target = tool.dir.join("restore-file");
    let t = target.to_string_lossy().into_owned();
    let include = tool.include_pattern(product);
    let restore_file = tool
        .run(
            parent,
            &["restore", &oldest, "--target", &t, "--include", &include],
        )?
        .step;
    let restored = target.join(EXPORT_NAME).join(product);
    let got = measure::hash_file(&restored)
        .with_context(|| format!("{}: restoring {product} from {oldest}", tool.name))?;
    let n = measure::count_files(&target)?;
    if got != product_hash || n != 1 {
        bail!(
            "{}: restoring {product} from the oldest snapshot gave {n} files, contents {}",
            tool.name,
            if got == product_hash {
                "right"
            } else {
                "wrong"
            }
        );
    }
    remove_dir(&target)?;
    p.finish();

    let (mut forget_prune, mut snapshots_after_forget, mut repo_bytes_after_prune) =
        (None, None, None);
    let mut check = None;
    if tool.skip_maintenance.is_none() {
        p.start(&format!("{}: forget + prune", tool.name));
        let mut args = vec!["forget"];
        args.extend(policy.iter().map(String::as_str));
        args.push("--prune");
        forget_prune = Some(tool.run(parent, &args)?.step);
        snapshots_after_forget = Some(measure::count_files(&tool.repo.join("snapshots"))?);
        repo_bytes_after_prune = Some(measure::dir_size(&tool.repo)?);
        p.finish();

        p.start(&format!("{}: check", tool.name));
        check = Some(tool.run(parent, &["check"])?.step);
        p.finish();
    } else {
        p.done += 2;
    }

    let daily_secs: Vec<f64> = r.daily.iter().map(|s| s.secs).collect();
    let growth: Vec<f64> = r
        .sizes
        .windows(2)
        .map(|w| w[1] as f64 - w[0] as f64)
        .collect();
    Ok(ToolFigures {
        first_backup: r.first,
        daily_backups: r.daily.clone(),
        daily_backup_median_secs: measure::median(&daily_secs),
        daily_backup_max_secs: daily_secs.iter().copied().reduce(f64::max),
        daily_backup_peak_rss_bytes: r.daily.iter().filter_map(|s| s.peak_rss_bytes).max(),
        repo_bytes_after_backup: r.sizes.clone(),
        growth_per_version_median_bytes: measure::median(&growth),
        repo_bytes,
        repo_to_export_ratio: repo_bytes as f64 / (export_latest.bytes.max(1)) as f64,
        restore_latest,
        restore_latest_check,
        restore_file,
        forget_prune,
        snapshots_after_forget,
        repo_bytes_after_prune,
        check,
        skipped: tool.skip_maintenance,
    })
}

/// backstock / restic for every figure both have (restic's not zero).
fn ratios(a: &ToolFigures, b: &ToolFigures) -> BTreeMap<String, f64> {
    a.figures()
        .iter()
        .zip(b.figures())
        .filter_map(|(x, y)| match (x.value, y.value) {
            (Some(u), Some(v)) if v != 0.0 => Some((x.key.to_string(), u / v)),
            _ => None,
        })
        .collect()
}
