//! Side-by-side run of backstock and restic on a synthetic store export, day by day.
//!
//! `cargo run --release --example compare_restic -- [PRODUCTS] [DAYS] [WORKDIR]`
//! (needs `restic` on PATH; uses /usr/bin/time for peak RSS when it exists). Prints one line per
//! step with wall time, peak RSS and repository size for both tools, then ratios.

use backstock::bench::generate::{StoreGenerator, StoreParams};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Step {
    secs: f64,
    rss_kib: Option<u64>,
}

fn run(tool: &str, args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> anyhow::Result<Step> {
    let use_time = Path::new("/usr/bin/time").exists();
    let mut c = if use_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("RSSKIB %M").arg(tool);
        c
    } else {
        Command::new(tool)
    };
    c.args(args).current_dir(cwd);
    for (k, v) in env {
        c.env(k, v);
    }
    let start = Instant::now();
    let out = c.output()?;
    let secs = start.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        anyhow::bail!("{tool} {args:?} failed: {err}");
    }
    let rss_kib = err.lines().rev().find_map(|l| {
        l.strip_prefix("RSSKIB ")
            .and_then(|v| v.trim().parse().ok())
    });
    Ok(Step { secs, rss_kib })
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                match e.metadata() {
                    Ok(m) if m.is_dir() => stack.push(e.path()),
                    Ok(m) => total += m.len(),
                    Err(_) => {}
                }
            }
        }
    }
    total
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let products: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5000);
    let days: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let work = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/tmp/backstock-compare".into()),
    );
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let bs = std::env::current_exe()?
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("backstock"))
        .ok_or_else(|| anyhow::anyhow!("cannot locate the backstock binary"))?;
    let bs = bs.to_str().unwrap_or("backstock").to_string();
    let (bs_repo, rs_repo) = (work.join("bs-repo"), work.join("restic-repo"));
    let bs_cache = work.join("bs-cache");
    let rs_cache = work.join("restic-cache");
    let env_bs = [("BACKSTOCK_PASSWORD", "bench")];
    let env_rs = [
        ("RESTIC_PASSWORD", "bench"),
        ("RESTIC_CACHE_DIR", rs_cache.to_str().unwrap_or("")),
    ];
    let bsr = bs_repo.to_str().unwrap_or("");
    let bsc = bs_cache.to_str().unwrap_or("");
    let rsr = rs_repo.to_str().unwrap_or("");
    run(&bs, &["-r", bsr, "init"], &work, &env_bs)?;
    run("restic", &["-r", rsr, "init"], &work, &env_rs)?;

    let mut g = StoreGenerator::new(StoreParams {
        products,
        customers: products * 2 / 5,
        media_per_product: 0.6,
        ..Default::default()
    });
    let src = work.join("src");
    std::fs::create_dir_all(&src)?;
    g.write_initial(&src.join("shop"))?;
    println!("export: {} bytes", dir_size(&src));
    println!("step                      backstock s  RSS MiB   repo MiB |   restic s  RSS MiB   repo MiB |  time ratio  size ratio");
    let mut prev = (0u64, 0u64);
    for day in 0..=days {
        if day > 0 {
            g.advance_day(&src.join("shop"))?;
        }
        let a = run(
            &bs,
            &["-r", bsr, "--cache-dir", bsc, "-q", "backup", "shop"],
            &src,
            &env_bs,
        )?;
        let b = run(
            "restic",
            &["-r", rsr, "-q", "backup", "shop"],
            &src,
            &env_rs,
        )?;
        let (sa, sb) = (dir_size(&bs_repo), dir_size(&rs_repo));
        let (ga, gb) = (sa - prev.0, sb - prev.1);
        prev = (sa, sb);
        report(&format!("backup day {day}"), &a, &b, ga, gb);
    }
    for tool in ["backstock", "restic"] {
        let _ = std::fs::remove_dir_all(work.join(format!("restore-{tool}")));
    }
    let ra = run(
        &bs,
        &[
            "-r",
            bsr,
            "--cache-dir",
            bsc,
            "-q",
            "restore",
            "latest",
            "--target",
            "../restore-backstock",
        ],
        &src,
        &env_bs,
    )?;
    let rb = run(
        "restic",
        &[
            "-r",
            rsr,
            "-q",
            "restore",
            "latest",
            "--target",
            "../restore-restic",
        ],
        &src,
        &env_rs,
    )?;
    report(
        "restore latest",
        &ra,
        &rb,
        dir_size(&bs_repo),
        dir_size(&rs_repo),
    );
    let fa = run(
        &bs,
        &[
            "-r",
            bsr,
            "--cache-dir",
            bsc,
            "-q",
            "forget",
            "--keep-last",
            "2",
            "--prune",
        ],
        &src,
        &env_bs,
    );
    let fb = run(
        "restic",
        &["-r", rsr, "-q", "forget", "--keep-last", "2", "--prune"],
        &src,
        &env_rs,
    )?;
    match fa {
        Ok(fa) => report(
            "forget --keep-last 2 --prune",
            &fa,
            &fb,
            dir_size(&bs_repo),
            dir_size(&rs_repo),
        ),
        Err(e) => println!("forget+prune: backstock failed: {e}"),
    }
    Ok(())
}

fn report(name: &str, a: &Step, b: &Step, sa: u64, sb: u64) {
    let mib = |v: u64| v as f64 / 1048576.0;
    let rss = |s: &Step| {
        s.rss_kib
            .map(|k| format!("{:8.1}", k as f64 / 1024.0))
            .unwrap_or_else(|| "       -".into())
    };
    println!(
        "{name:<25} {:10.2} {} {:10.2} | {:10.2} {} {:10.2} | {:10.2}x {:10.2}x",
        a.secs,
        rss(a),
        mib(sa),
        b.secs,
        rss(b),
        mib(sb),
        a.secs / b.secs.max(1e-9),
        sa as f64 / (sb as f64).max(1.0)
    );
}
