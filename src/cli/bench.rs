//! `backstock bench`: replay simulated days of a synthetic store export into a fresh repository (and
//! optionally restic's) and print what each step cost.

use super::common::{human, GlobalOpts};
use anyhow::{bail, Context, Result};
use backstock::KeepDuration;
use backstock_bench::generate::StoreParams;
use backstock_bench::replay::{self, BenchOptions, BenchReport, Figure, ToolFigures, Unit};
use backstock_bench::via::Via;
use chrono::NaiveDateTime;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Products in the initial export
    #[arg(long, default_value_t = 1000)]
    pub products: usize,
    /// Simulated days after the initial export (one backup each)
    #[arg(long, default_value_t = 7)]
    pub days: usize,
    /// Average number of media files per product
    #[arg(long, default_value_t = 0.6, value_parser = parse_non_negative)]
    pub media_per_product: f64,
    /// Customers (default: 40% of --products)
    #[arg(long)]
    pub customers: Option<usize>,
    /// Fraction of products edited each day
    #[arg(long, default_value_t = 0.02, value_parser = parse_rate)]
    pub edit_rate: f64,
    /// Products added each day (with new media), as a fraction of the catalog
    #[arg(long, default_value_t = 0.003, value_parser = parse_rate)]
    pub add_rate: f64,
    /// Products deleted each day, as a fraction of the catalog
    #[arg(long, default_value_t = 0.001, value_parser = parse_rate)]
    pub delete_rate: f64,
    /// Fraction of customers edited each day
    #[arg(long, default_value_t = 0.01, value_parser = parse_rate)]
    pub customer_edit_rate: f64,
    /// New orders each day
    #[arg(long, default_value_t = 40)]
    pub orders_per_day: usize,
    /// Seed of the synthetic store
    #[arg(long, default_value_t = 0x5EED)]
    pub seed: u64,
    /// Snapshot time of the first backup ("YYYY-MM-DD HH:MM:SS", local); day d adds d days
    #[arg(long, default_value = "2024-01-01 12:00:00", value_parser = parse_start)]
    pub start: NaiveDateTime,
    /// Retention for the final forget + prune: keep the N newest snapshots
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the N newest hours
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// Keep the newest snapshot of each of the N newest days [default with no --keep-* flag: 7]
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the N newest ISO weeks [default with no --keep-* flag: 4]
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the N newest months [default with no --keep-* flag: 12]
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest snapshot of each of the N newest years
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// Keep every snapshot within this duration of the newest one, e.g. 1y6m2d3h
    #[arg(long, value_name = "DURATION", value_parser = parse_within)]
    pub keep_within: Option<String>,
    /// Replay the same days into a repository of this tool too, and show ratios
    #[arg(long, value_enum)]
    pub compare: Option<Compare>,
    /// Work directory (created; must be empty), kept at the end; default: a temporary one, removed
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where the repositories (backstock's and the compared tool's) live
    #[arg(long, value_enum, default_value = "local")]
    pub via: ViaArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Compare {
    /// restic (must be on PATH)
    Restic,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ViaArg {
    /// A directory each, under the work directory
    Local,
    /// The same directories, each served by its own `rclone serve restic` (REST)
    Rclone,
    /// A bucket each on an s3s-fs S3 server the bench starts on loopback (s3s-fs must be on PATH)
    S3,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?}: expected a fraction between 0 and 1, e.g. 0.02"
        )),
    }
}

fn parse_non_negative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?}: expected a number of at least 0")),
    }
}

fn parse_start(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map_err(|_| format!("{s:?}: expected \"YYYY-MM-DD HH:MM:SS\""))
}

fn parse_within(s: &str) -> Result<String, String> {
    s.parse::<KeepDuration>()
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// The forget flags for both tools; the default policy when none is given.
fn policy(a: &Args) -> Vec<String> {
    let counts = [
        ("--keep-last", a.keep_last),
        ("--keep-hourly", a.keep_hourly),
        ("--keep-daily", a.keep_daily),
        ("--keep-weekly", a.keep_weekly),
        ("--keep-monthly", a.keep_monthly),
        ("--keep-yearly", a.keep_yearly),
    ];
    let mut out = Vec::new();
    for (flag, n) in counts {
        if let Some(n) = n {
            out.extend([flag.to_string(), n.to_string()]);
        }
    }
    if let Some(w) = &a.keep_within {
        out.extend(["--keep-within".to_string(), w.clone()]);
    }
    if out.is_empty() {
        for s in [
            "--keep-daily",
            "7",
            "--keep-weekly",
            "4",
            "--keep-monthly",
            "12",
        ] {
            out.push(s.to_string());
        }
    }
    out
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    if a.products == 0 {
        bail!("--products must be at least 1");
    }
    let restic = match a.compare {
        Some(Compare::Restic) => Some(replay::find_restic().context("--compare restic")?),
        None => None,
    };
    let via = match a.via {
        ViaArg::Local => Via::Local,
        ViaArg::Rclone => Via::Rclone,
        ViaArg::S3 => Via::S3 {
            s3s_fs: replay::find_s3s_fs().context("--via s3")?,
        },
    };
    // Settings of this command that change how backstock writes are passed to every step.
    let mut backstock_args = Vec::new();
    if let Some(n) = g.connections {
        backstock_args.extend(["--connections".to_string(), n.to_string()]);
    }
    let opts = BenchOptions {
        store: StoreParams {
            products: a.products,
            customers: a.customers.unwrap_or(a.products * 2 / 5),
            orders_per_day: a.orders_per_day,
            media_per_product: a.media_per_product,
            seed: a.seed,
            edit_rate: a.edit_rate,
            add_rate: a.add_rate,
            delete_rate: a.delete_rate,
            customer_edit_rate: a.customer_edit_rate,
            ..StoreParams::default()
        },
        days: a.days,
        policy: policy(&a),
        backstock: std::env::current_exe().context("locating the backstock executable")?,
        restic,
        dir: a.dir.clone(),
        start: a.start,
        via,
        backstock_args,
    };
    let bar = (!g.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(1);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    });
    // Without a terminal (a long run logged to a file), one line per step with the elapsed time.
    let log_lines = !g.quiet && bar.is_none();
    let started = std::time::Instant::now();
    let progress = |step: &str, done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
            b.set_message(step.to_string());
        } else if log_lines {
            eprintln!(
                "{:9.1}s {done}/{total} {step}",
                started.elapsed().as_secs_f64()
            );
        }
    };
    let result = replay::run(&opts, &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = result?;
    if g.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_report(&report)?;
    }
    Ok(0)
}

fn format_value(unit: Unit, v: Option<f64>) -> String {
    match (unit, v) {
        (_, None) => "-".into(),
        (Unit::Seconds, Some(s)) => format!("{s:.2} s"),
        (Unit::Bytes, Some(b)) if b < 0.0 => format!("-{}", human((-b) as u64)),
        (Unit::Bytes, Some(b)) => human(b as u64),
        (Unit::Ratio, Some(r)) => format!("{r:.3}"),
    }
}

fn print_report(r: &BenchReport) -> std::io::Result<()> {
    let p = &r.params;
    outln!(
        "{} products, {} customers, {:.2} media per product; {} days after the initial export (from {})",
        p.products, p.customers, p.media_per_product, p.days, p.start_time
    )?;
    outln!(
        "daily: {}% products edited, {}% added, {}% deleted, {}% customers edited, {} orders, theme edit every {} days; seed {}",
        p.edit_rate * 100.0,
        p.add_rate * 100.0,
        p.delete_rate * 100.0,
        p.customer_edit_rate * 100.0,
        p.orders_per_day,
        p.theme_edit_every_days,
        p.seed
    )?;
    outln!(
        "export: {} files, {} initially; {} files, {} at the end",
        r.export_initial.files,
        human(r.export_initial.bytes),
        r.export_latest.files,
        human(r.export_latest.bytes)
    )?;
    outln!("forget policy: {}", p.policy.join(" "))?;
    if let Some(v) = &r.restic_version {
        outln!("compared with: {v}")?;
    }
    outln!("repositories: {}", r.storage)?;
    outln!()?;
    let tools: Vec<(&str, &ToolFigures)> = std::iter::once(("backstock", &r.backstock))
        .chain(r.restic.as_ref().map(|f| ("restic", f)))
        .collect();
    let rows: Vec<Vec<Figure>> = tools.iter().map(|(_, f)| f.figures()).collect();
    let mut header = format!("{:<40} {:>12}", "figure", "backstock");
    if r.restic.is_some() {
        header.push_str(&format!(" {:>12} {:>8}", "restic", "ratio"));
    }
    outln!("{header}")?;
    outln!("{}", "-".repeat(header.len()))?;
    for (i, fig) in rows[0].iter().enumerate() {
        let mut line = format!(
            "{:<40} {:>12}",
            fig.label,
            format_value(fig.unit, fig.value)
        );
        if let Some(other) = rows.get(1).and_then(|r| r.get(i)) {
            let ratio = r
                .ratios
                .as_ref()
                .and_then(|m| m.get(fig.key))
                .map(|v| format!("{v:.2}x"))
                .unwrap_or_else(|| "-".into());
            line.push_str(&format!(
                " {:>12} {:>8}",
                format_value(other.unit, other.value),
                ratio
            ));
        }
        outln!("{line}")?;
    }
    outln!()?;
    for (name, f) in &tools {
        let c = &f.restore_latest_check;
        outln!(
            "{name}: restored latest snapshot matches the export ({} files, {}, {} compared by content); {} snapshots left after forget; {} restored from the oldest",
            c.files,
            human(c.bytes),
            c.files_hashed,
            f.snapshots_after_forget
                .map_or_else(|| "-".to_string(), |n| n.to_string()),
            r.restored_file
        )?;
        if let Some(why) = f.skipped {
            outln!("{name}: {why}")?;
        }
    }
    if let Some(d) = &r.work_dir {
        outln!("work directory kept: {}", d.display())?;
    }
    Ok(())
}
