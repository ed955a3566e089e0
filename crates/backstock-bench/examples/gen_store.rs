//! Writes a synthetic store export: `cargo run --release --example gen_store -- DIR [PRODUCTS] [DAYS]`.
//! With DAYS > 0 the export is advanced that many simulated days after the initial write.

use backstock_bench::generate::{StoreGenerator, StoreParams};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: gen_store DIR [PRODUCTS] [DAYS]"))?,
    );
    let products: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5000);
    let days: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let params = StoreParams {
        products,
        customers: products * 2 / 5,
        media_per_product: 0.6,
        ..Default::default()
    };
    let mut g = StoreGenerator::new(params);
    let s = g.write_initial(&dir)?;
    println!(
        "day 0: {} files, {} bytes",
        s.files_written, s.bytes_written
    );
    for _ in 0..days {
        let s = g.advance_day(&dir)?;
        println!(
            "day {}: {} written, {} deleted, {} bytes",
            g.day(),
            s.files_written,
            s.files_deleted,
            s.bytes_written
        );
    }
    Ok(())
}
