use super::common::GlobalOpts;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {}

/// The version, the target it was built for, and the formats it writes, for bug reports and
/// monitoring (`--json`).
pub fn run(g: &GlobalOpts, _a: Args) -> Result<i32> {
    let version = env!("CARGO_PKG_VERSION");
    let target = format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS);
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"version": version, "target": target,
                "tree_versions": [backstock::format::tree::VERSION_PLAIN, backstock::format::tree::VERSION_EXTENDED]})
        )?;
    } else {
        outln!("backstock {version} ({target})")?;
    }
    Ok(0)
}
