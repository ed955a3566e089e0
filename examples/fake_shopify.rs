//! Runs the fake Shopify Admin API for a demo or a manual test:
//! `cargo run --release --example fake_shopify -- --port PORT [--products N] [--customers N]
//! [--orders N] [--seed S]`.
//! Prints `listening on http://127.0.0.1:PORT` (the real port when PORT is 0) and serves until
//! killed. The store advances only through `POST /_fake/advance`.

use fake_shopify::{FakeShop, ServerOptions, StoreParams};
use std::io::Write;

const USAGE: &str =
    "usage: fake_shopify --port PORT [--products N] [--customers N] [--orders N] [--seed S]";

fn parse() -> Result<(u16, StoreParams), String> {
    let mut port = None;
    let mut params = StoreParams::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => return Err(format!("{name} needs a value")),
        };
        let bad = |what: &str| format!("{name}: {value:?} is not {what}");
        match name.as_str() {
            "--port" => port = Some(value.parse::<u16>().map_err(|_| bad("a port number"))?),
            "--products" => params.products = value.parse().map_err(|_| bad("a number"))?,
            "--customers" => params.customers = value.parse().map_err(|_| bad("a number"))?,
            "--orders" => params.orders = value.parse().map_err(|_| bad("a number"))?,
            "--seed" => params.seed = value.parse().map_err(|_| bad("a number"))?,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let port = port.ok_or("--port is required")?;
    Ok((port, params))
}

fn main() {
    let (port, params) = match parse() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("fake_shopify: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let shop = match FakeShop::start(
        params,
        ServerOptions {
            port,
            ..ServerOptions::default()
        },
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake_shopify: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on {}", shop.url());
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}
