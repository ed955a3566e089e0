//! Options shared by every subcommand, password handling, and opening the repository.

use anyhow::{bail, Context, Result};
use backstock::backend::Backend;
use backstock::repository::lock::LockGuard;
use backstock::repository::{OpenOptions, Repository};
use std::io::IsTerminal;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::Arc;
use zeroize::Zeroizing;

#[derive(clap::Args, Debug)]
pub struct GlobalOpts {
    /// Repository location: a directory, rest:http[s]://[USER:PASS@]HOST:PORT/PATH/ or
    /// s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] (credentials from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY) or rclone:REMOTE:PATH
    #[arg(
        short = 'r',
        long = "repo",
        env = "BACKSTOCK_REPOSITORY",
        // A remote location may hold a password: --help shows the variable's name, not its value.
        hide_env_values = true,
        global = true
    )]
    pub repo: Option<PathBuf>,
    /// Read the repository location from the first line of this file (as restic's
    /// --repository-file; not with -r)
    #[arg(
        long,
        env = "BACKSTOCK_REPOSITORY_FILE",
        global = true,
        conflicts_with = "repo",
        value_name = "FILE"
    )]
    pub repository_file: Option<PathBuf>,
    /// For remote repositories: give up on a request (and retry it) when the server has not
    /// answered, or a download has not moved, for this long (e.g. 30s, 5m)
    #[arg(long, global = true, env = "BACKSTOCK_TIMEOUT", value_parser = parse_duration, default_value = "5m")]
    pub timeout: std::time::Duration,
    /// Upload at most this many KiB per second (any repository)
    #[arg(long, global = true, env = "BACKSTOCK_LIMIT_UPLOAD", value_name = "KiB/s", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit_upload: Option<u64>,
    /// Download at most this many KiB per second (any repository)
    #[arg(long, global = true, env = "BACKSTOCK_LIMIT_DOWNLOAD", value_name = "KiB/s", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit_download: Option<u64>,
    /// Write this many pack files at once, each held in memory until written (default 2)
    #[arg(long, global = true, env = "BACKSTOCK_CONNECTIONS", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub connections: Option<u16>,
    /// Read the password from this file (its first line; wins over BACKSTOCK_PASSWORD)
    #[arg(long, env = "BACKSTOCK_PASSWORD_FILE", global = true)]
    pub password_file: Option<PathBuf>,
    /// Run this command and take the first line it prints as the password (as restic's
    /// --password-command: split into words as a shell would, not run by one; not with
    /// --password-file)
    #[arg(
        long,
        env = "BACKSTOCK_PASSWORD_COMMAND",
        // Its arguments may hold a secret: --help shows the variable's name, not its value.
        hide_env_values = true,
        global = true,
        conflicts_with = "password_file",
        value_name = "COMMAND"
    )]
    pub password_command: Option<String>,
    /// Try the key file whose ID starts with this first
    #[arg(long, global = true, env = "BACKSTOCK_KEY_HINT")]
    pub key_hint: Option<String>,
    /// Take no lock (only for commands that only read, e.g. on a read-only copy of a repository)
    #[arg(long, global = true, env = "BACKSTOCK_NO_LOCK")]
    pub no_lock: bool,
    /// Print machine-readable JSON
    #[arg(long, global = true, env = "BACKSTOCK_JSON")]
    pub json: bool,
    /// Print only errors
    #[arg(short, long, global = true, env = "BACKSTOCK_QUIET")]
    pub quiet: bool,
    /// Print more about what is done (-vv: even more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Do not use the local cache
    #[arg(long, global = true, env = "BACKSTOCK_NO_CACHE")]
    pub no_cache: bool,
    /// Directory for the local cache (default: $XDG_CACHE_HOME/backstock)
    #[arg(long, global = true, env = "BACKSTOCK_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Read settings from the profile NAME: NAME.toml in $XDG_CONFIG_HOME/backstock (or a path
    /// ending in .toml); flags and BACKSTOCK_* variables win over it
    #[arg(
        short = 'P',
        long,
        global = true,
        env = "BACKSTOCK_PROFILE",
        value_name = "NAME"
    )]
    pub profile: Option<String>,
    /// s3: storage class of data packs (STANDARD_IA, GLACIER_IR, GLACIER, DEEP_ARCHIVE or a
    /// provider's class name); default: the bucket's
    #[arg(
        long,
        global = true,
        env = "BACKSTOCK_S3_STORAGE_CLASS_DATA",
        value_name = "CLASS"
    )]
    pub s3_storage_class_data: Option<String>,
    /// s3: storage class of the other files (config, keys, index, snapshots, tree packs; locks
    /// always use the bucket's default); must read at once, so not GLACIER or DEEP_ARCHIVE
    #[arg(
        long,
        global = true,
        env = "BACKSTOCK_S3_STORAGE_CLASS_METADATA",
        value_name = "CLASS"
    )]
    pub s3_storage_class_metadata: Option<String>,
    /// For https:// repositories: also trust the certificate authorities in this PEM file (a REST
    /// server or S3 store with a certificate of its own); may be given more than once
    #[arg(long, global = true, env = "BACKSTOCK_CACERT", value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Wait up to this long for a locked repository (e.g. 30s, 10m, 1h)
    #[arg(long, global = true, env = "BACKSTOCK_RETRY_LOCK", value_parser = parse_duration, default_value = "0s")]
    pub retry_lock: std::time::Duration,
}

/// Parses `90`, `30s`, `10m`, `1h` (a clap value parser: clap names the flag in the error).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = match num.parse() {
        Ok(n) => n,
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            return Err(format!("{s:?}: too long"))
        }
        Err(_) => return Err(format!("{s:?}: expected a duration such as 30s, 10m or 1h")),
    };
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s, m, h or d)")),
    };
    let secs = n
        .checked_mul(unit_secs)
        .ok_or_else(|| format!("{s:?}: too long"))?;
    Ok(std::time::Duration::from_secs(secs))
}

/// Parses a size in bytes: a number (fractions and exponents allowed) with an optional binary
/// unit, `K`, `M`, `G`, `T`, `P` or `E`, with or without `B`/`iB` (`500M`, `2GiB`, `1.5g`, `1024`:
/// 1K is 1024 either way). A value beyond `u64` is an error, not a saturated number. Usable as a
/// clap value parser.
pub fn parse_size(s: &str) -> Result<u64> {
    static UNITS: parse_size::Config = parse_size::Config::new().with_binary();
    UNITS.parse_size(s).map_err(|e| match e {
        parse_size::Error::PosOverflow => anyhow::anyhow!("size {s:?} is too large"),
        _ => anyhow::anyhow!(
            "size {s:?}: expected a number with an optional unit K, M, G or T (e.g. 500M, 2GiB)"
        ),
    })
}

/// The repository location on the first line of `f` (restic's `--repository-file`).
pub(super) fn location_from_file(f: &std::path::Path) -> Result<PathBuf> {
    let bytes =
        std::fs::read(f).with_context(|| format!("reading repository file {}", f.display()))?;
    let line = first_line(&bytes).trim_ascii();
    if line.is_empty() {
        bail!(
            "repository file {} is empty (its first line is the repository location)",
            f.display()
        );
    }
    Ok(PathBuf::from(std::ffi::OsString::from_vec(line.to_vec())))
}

impl GlobalOpts {
    pub fn repo_path(&self) -> Result<PathBuf> {
        if let Some(f) = &self.repository_file {
            return location_from_file(f);
        }
        self.repo.clone().context(
            "no repository given: use -r/--repo PATH, --repository-file FILE or set \
             BACKSTOCK_REPOSITORY",
        )
    }

    /// The backend for `-r/--repo`: a directory, or a remote location (`rest:...`, `s3:...`).
    pub fn backend(&self) -> Result<Arc<dyn Backend>> {
        self.backend_at(self.repo_path()?.as_os_str())
    }

    /// The backend for a repository at `location` (any form `-r` takes), with these options.
    pub fn backend_at(&self, location: &std::ffi::OsStr) -> Result<Arc<dyn Backend>> {
        let mut opts = backstock::backend::RemoteOptions::default();
        opts.rest.timeout = self.timeout.max(std::time::Duration::from_secs(1));
        opts.s3.timeout = opts.rest.timeout;
        opts.s3.data_storage_class = self.s3_storage_class_data.clone();
        opts.s3.metadata_storage_class = self.s3_storage_class_metadata.clone();
        opts.limit_upload = self.limit_upload.map(|k| k.saturating_mul(1024));
        opts.limit_download = self.limit_download.map(|k| k.saturating_mul(1024));
        opts.connections = self.connections.map(usize::from);
        opts.ca_files = self.cacert.clone();
        if let Some(p) = std::env::var_os("BACKSTOCK_RCLONE_PROGRAM") {
            opts.rclone_program = p.to_string_lossy().into_owned();
        }
        Ok(backstock::backend::open_location_with(location, &opts)?)
    }

    /// The password: from --password-file / BACKSTOCK_PASSWORD_FILE, else --password-command /
    /// BACKSTOCK_PASSWORD_COMMAND, else BACKSTOCK_PASSWORD, else a prompt on a terminal. An empty
    /// password is refused from every source.
    pub fn password(&self, confirm: bool) -> Result<Zeroizing<Vec<u8>>> {
        if let (None, Some(command)) = (&self.password_file, &self.password_command) {
            return password_from_command(command);
        }
        read_password(self.password_file.as_deref(), EnvPassword::Main, confirm)
    }

    /// Opens the repository without reading its index: for commands whose library function takes
    /// the lock and loads the index itself.
    pub fn open(&self) -> Result<Repository> {
        self.open_with_cache(!self.no_cache)
    }

    /// [`Self::open`] without the local cache.
    pub fn open_uncached(&self) -> Result<Repository> {
        self.open_with_cache(false)
    }

    fn open_with_cache(&self, cache: bool) -> Result<Repository> {
        let backend = self.backend()?;
        let password = self.password(false)?;
        self.open_backend(backend, &password, self.key_hint.clone(), cache)
    }

    /// Opens the repository in `backend` with these options (cache, lock retries, `--no-lock`).
    pub(super) fn open_backend(
        &self,
        backend: Arc<dyn Backend>,
        password: &[u8],
        key_hint: Option<String>,
        cache: bool,
    ) -> Result<Repository> {
        let opts = OpenOptions {
            cache_dir: self.cache_dir.clone(),
            no_cache: !cache,
            retry_lock: self.retry_lock,
            no_lock: self.no_lock,
            key_hint,
        };
        Ok(Repository::open(backend, password, &opts)?)
    }

    /// Opens the repository for a command that reads snapshots and data: the library takes the
    /// read lock and loads the index under it.
    pub fn open_for_reading(&self) -> Result<(Repository, LockGuard)> {
        let mut repo = self.open()?;
        let guard = repo.lock_for_reading()?;
        Ok((repo, guard))
    }

    /// Whether to draw progress bars.
    pub fn progress(&self) -> bool {
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }
}

/// A password variable, taken out of the environment the first time it is asked for, so that
/// programs this process starts (restic in `bench --compare`) do not inherit it.
#[derive(Debug, Clone, Copy)]
pub(super) enum EnvPassword {
    /// BACKSTOCK_PASSWORD, for `-r`.
    Main,
    /// BACKSTOCK_FROM_PASSWORD, for `--from-repo`.
    From,
}

impl EnvPassword {
    fn var(self) -> &'static str {
        match self {
            EnvPassword::Main => "BACKSTOCK_PASSWORD",
            EnvPassword::From => "BACKSTOCK_FROM_PASSWORD",
        }
    }

    /// The option naming the password file.
    fn flag(self) -> &'static str {
        match self {
            EnvPassword::Main => "--password-file",
            EnvPassword::From => "--from-password-file",
        }
    }

    /// Which repository, for the prompt and messages.
    fn repository(self) -> &'static str {
        match self {
            EnvPassword::Main => "repository",
            EnvPassword::From => "the source repository (--from-repo)",
        }
    }

    fn value(self) -> Option<&'static Zeroizing<Vec<u8>>> {
        type Taken = std::sync::OnceLock<Option<Zeroizing<Vec<u8>>>>;
        static MAIN: Taken = Taken::new();
        static FROM: Taken = Taken::new();
        let cell = match self {
            EnvPassword::Main => &MAIN,
            EnvPassword::From => &FROM,
        };
        cell.get_or_init(|| {
            let p = std::env::var_os(self.var()).map(|p| Zeroizing::new(p.into_encoded_bytes()));
            std::env::remove_var(self.var());
            p
        })
        .as_ref()
    }
}

/// A password: from `file` (its first line), else the variable `env`, else a prompt on a terminal
/// (twice when `confirm`). An empty password is refused from every source.
pub(super) fn read_password(
    file: Option<&std::path::Path>,
    env: EnvPassword,
    confirm: bool,
) -> Result<Zeroizing<Vec<u8>>> {
    let from_env = env.value();
    if let Some(f) = file {
        let bytes = Zeroizing::new(
            std::fs::read(f).with_context(|| format!("reading password file {}", f.display()))?,
        );
        let line = first_line(&bytes);
        if line.is_empty() {
            bail!(
                "password file {} is empty (its first line is the password)",
                f.display()
            );
        }
        return Ok(Zeroizing::new(line.to_vec()));
    }
    if let Some(p) = from_env {
        if p.is_empty() {
            bail!(
                "{} is set but empty: an empty password is not allowed",
                env.var()
            );
        }
        return Ok(p.clone());
    }
    if !std::io::stdin().is_terminal() {
        let whose = match env {
            EnvPassword::Main => String::new(),
            EnvPassword::From => format!(" for {}", env.repository()),
        };
        bail!(
            "no password{whose}: set {var}, {var}_FILE or {}",
            env.flag(),
            var = env.var()
        );
    }
    let prompt = format!("enter password for {}: ", env.repository());
    let p = Zeroizing::new(rpassword::prompt_password(prompt).context("reading password")?);
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("enter password again: ").context("reading password")?,
        );
        if *p != *again {
            bail!("the passwords do not match");
        }
    }
    if p.is_empty() {
        bail!("an empty password is not allowed");
    }
    Ok(Zeroizing::new(p.as_bytes().to_vec()))
}

/// The first line a password command prints. The command is split into words (quotes and
/// backslashes as in a shell) and run directly; its standard error goes to ours, and a failure or
/// an empty first line is an error naming the program only (its arguments may hold secrets).
pub(super) fn password_from_command(command: &str) -> Result<Zeroizing<Vec<u8>>> {
    let words = shlex::split(command)
        .with_context(|| "--password-command: unbalanced quotes or a trailing backslash")?;
    let Some((program, args)) = words.split_first() else {
        bail!("--password-command is empty");
    };
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running the password command {program}"))?;
    let printed = Zeroizing::new(out.stdout);
    if !out.status.success() {
        bail!("the password command {program} failed ({})", out.status);
    }
    let line = first_line(&printed);
    if line.is_empty() {
        bail!(
            "the password command {program} printed no password (its first line is the password)"
        );
    }
    Ok(Zeroizing::new(line.to_vec()))
}

/// Takes BACKSTOCK_PASSWORD and BACKSTOCK_FROM_PASSWORD out of the environment; `main` calls it
/// before starting any thread, since changing the environment while other threads may read it is a
/// race.
pub fn take_password_from_environment() {
    EnvPassword::Main.value();
    EnvPassword::From.value();
}

/// The first line of a password file, without its line ending (LF or CRLF, as editors on other
/// systems write).
pub(super) fn first_line(bytes: &[u8]) -> &[u8] {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits `SNAPSHOT[:SUBPATH]`.
pub fn split_spec(spec: &str) -> (&str, &str) {
    match spec.split_once(':') {
        Some((s, p)) => (s, p.trim_start_matches('/')),
        None => (spec, ""),
    }
}

/// Bytes as a human-readable size, in binary units with two decimals (`512 B`, `1.50 MiB`): what
/// indicatif prints. A function of its own because every subcommand's output goes through it.
pub fn human(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// Runs `f` while a progress bar shows what `status` reports, when `show`.
pub fn with_progress<T>(
    show: bool,
    status: impl Fn() -> String + Sync,
    f: impl FnOnce() -> T,
) -> T {
    if !show {
        return f();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                bar.set_message(status());
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let out = f();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        bar.finish_and_clear();
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 30s "), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        let max = u64::MAX.to_string();
        assert_eq!(parse_duration(&max), Ok(Duration::from_secs(u64::MAX)));
        // Days, for how long to wait for an archive restore.
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86400)));
        for (bad, says) in [
            ("5124095576030432h", "too long"), // * 3600 overflows u64
            ("307445734561825861m", "too long"),
            ("18446744073709551616", "too long"),
            ("", "expected a duration"),
            ("h", "expected a duration"),
            ("-5s", "expected a duration"),
            ("1.5h", "unknown unit"),
            ("5w", "unknown unit"),
            ("5 s", "unknown unit"),
        ] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(
                err.contains(says) && err.contains(&format!("{bad:?}")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn sizes() {
        for (text, bytes) in [
            ("1024", 1024),
            ("500M", 500 << 20),
            ("2GiB", 2 << 30),
            ("2gb", 2 << 30),
            ("16 M", 16 << 20),
            ("1K", 1024),
            ("1KB", 1024),
            ("1.5G", 3 << 29),
            ("1T", 1 << 40),
            ("15E", 15 << 60),
            ("0", 0),
        ] {
            assert_eq!(parse_size(text).unwrap(), bytes, "{text}");
        }
        for (bad, says) in [
            ("16E", "too large"),
            ("18446744073709551616", "too large"),
            ("99999999999999999999T", "too large"),
            ("5X", "expected a number"),
            ("M", "expected a number"),
            ("", "expected a number"),
            ("-1M", "expected a number"),
            ("ten", "expected a number"),
        ] {
            let err = parse_size(bad).expect_err(bad).to_string();
            assert!(
                err.contains(says) && err.contains(&format!("{bad:?}")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1.00 KiB");
        assert_eq!(human(1536 << 10), "1.50 MiB");
        assert_eq!(human(5 << 30), "5.00 GiB");
        assert_eq!(human(3 << 40), "3.00 TiB");
    }
}

/// What `restore` and `dump` do about data in an archive storage class (S3 Glacier, Deep Archive).
#[derive(clap::Args, Debug)]
pub struct ThawArgs {
    /// When data needed is in an archive storage class: wait until its restore is done (looking
    /// every --thaw-poll, for at most --thaw-timeout) instead of exiting with code 15 once the
    /// restore is requested
    #[arg(long)]
    pub wait_for_thaw: bool,
    /// How often to look while waiting (e.g. 10m, 1h)
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub thaw_poll: std::time::Duration,
    /// Stop waiting after this long, with exit code 15 (e.g. 12h, 2d)
    #[arg(long, value_parser = parse_duration, default_value = "2d")]
    pub thaw_timeout: std::time::Duration,
    /// How many days restored copies stay readable
    #[arg(long, default_value = "7", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub thaw_days: u32,
    /// Restore speed and price: expedited (minutes; GLACIER only), standard (hours) or bulk
    /// (cheapest, up to 12 hours for GLACIER, 48 for DEEP_ARCHIVE)
    #[arg(long, default_value = "standard", value_parser = parse_tier)]
    pub thaw_tier: backstock::backend::RestoreTier,
}

fn parse_tier(s: &str) -> Result<backstock::backend::RestoreTier, String> {
    use backstock::backend::RestoreTier;
    match s.to_ascii_lowercase().as_str() {
        "expedited" => Ok(RestoreTier::Expedited),
        "standard" => Ok(RestoreTier::Standard),
        "bulk" => Ok(RestoreTier::Bulk),
        _ => Err(format!("{s:?}: use expedited, standard or bulk")),
    }
}

impl ThawArgs {
    /// The library's options.
    pub fn options(&self) -> backstock::repository::archive::ThawOptions {
        backstock::repository::archive::ThawOptions {
            days: self.thaw_days,
            tier: self.thaw_tier,
            wait: self
                .wait_for_thaw
                .then_some(backstock::repository::archive::ThawWait {
                    poll: self.thaw_poll.max(std::time::Duration::from_secs(1)),
                    limit: self.thaw_timeout,
                }),
        }
    }
}

/// When `e` says data is still archived: lists the pending packs (standard error, or JSON on
/// standard output with --json). The error itself is printed by `main`, with exit code 15.
pub fn report_pending(g: &GlobalOpts, e: &anyhow::Error) {
    let Some(p) = e.chain().find_map(|c| {
        c.downcast_ref::<backstock::Error>()
            .and_then(|e| e.find::<backstock::repository::archive::ThawPending>())
    }) else {
        return;
    };
    if g.json {
        let v = serde_json::json!({
            "archived_pending": p.pending.iter().map(|id| id.to_hex()).collect::<Vec<_>>(),
            "requested_now": p.requested_now,
            "pending_bytes": p.bytes,
            "packs_needed": p.needed,
        });
        let _ = outln!("{v}");
        return;
    }
    if g.quiet {
        return;
    }
    eprintln!(
        "waiting for the restore of {} archived packs ({}), requested now for {}:",
        p.pending.len(),
        human(p.bytes),
        p.requested_now
    );
    for id in &p.pending {
        eprintln!("  pending: data/{}", id.to_hex());
    }
}
