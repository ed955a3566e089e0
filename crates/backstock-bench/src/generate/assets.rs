//! Media files (JPEG/PNG/WebP headers with real magic bytes, then incompressible seeded bytes) and
//! Shopify-like theme files whose blocks change with edits.

use super::seed::{
    item_rng, paragraph, pick, sentence, slug, ADJECTIVES, LOREM, MATERIALS, NOUNS, TAG_MEDIA,
    TAG_MEDIA_BYTES, TAG_THEME, TAG_THEME_BLOCK,
};
use anyhow::{Context, Result};
use rand::{Rng, RngCore};
use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// One media file of a product: everything except its bytes.
pub(crate) struct MediaSpec {
    pub n: u64,
    pub ext: &'static str,
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

pub(crate) fn media_spec(seed: u64, product_seq: u64, n: u64) -> MediaSpec {
    let mut rng = item_rng(seed, TAG_MEDIA, product_seq, n);
    let r: f64 = rng.gen();
    let ext = if r < 0.65 {
        "jpg"
    } else if r < 0.82 {
        "webp"
    } else {
        "png"
    };
    // Log-uniform-ish between 30 KiB and 3 MiB, skewed small: mean ~300 KiB.
    let (lo, hi) = ((30u64 << 10) as f64, (3u64 << 20) as f64);
    let u: f64 = rng.gen();
    let size = (lo * ((hi / lo).ln() * u.powf(2.7)).exp()) as u64;
    let width = [800, 1024, 1200, 1600, 2048, 2400][rng.gen_range(0..6)];
    let (a, b) = [(3, 4), (4, 3), (1, 1), (4, 5)][rng.gen_range(0..4)];
    let height = width * a / b;
    MediaSpec {
        n,
        ext,
        size,
        width,
        height,
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn media_header(spec: &MediaSpec) -> Vec<u8> {
    let mut h = Vec::with_capacity(40);
    match spec.ext {
        "jpg" => {
            h.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]);
            h.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x48\x00\x48\x00\x00");
        }
        "png" => {
            h.extend_from_slice(&[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
            h.extend_from_slice(&13u32.to_be_bytes());
            let start = h.len();
            h.extend_from_slice(b"IHDR");
            h.extend_from_slice(&spec.width.to_be_bytes());
            h.extend_from_slice(&spec.height.to_be_bytes());
            h.extend_from_slice(&[8, 2, 0, 0, 0]);
            let crc = crc32(&h[start..]);
            h.extend_from_slice(&crc.to_be_bytes());
        }
        _ => {
            let size = spec.size.max(64) as u32;
            h.extend_from_slice(b"RIFF");
            h.extend_from_slice(&(size - 8).to_le_bytes());
            h.extend_from_slice(b"WEBPVP8 ");
            h.extend_from_slice(&(size - 20).to_le_bytes());
        }
    }
    h
}

/// Writes the media file: real magic bytes, then incompressible seeded bytes.
pub(crate) fn write_media(
    path: &Path,
    seed: u64,
    product_seq: u64,
    spec: &MediaSpec,
    buf: &mut Vec<u8>,
) -> Result<u64> {
    let mut file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    let header = media_header(spec);
    let total = spec.size.max(header.len() as u64 + 64);
    let mut rng = item_rng(seed, TAG_MEDIA_BYTES, product_seq, spec.n);
    let mut written = 0u64;
    let mut first = true;
    while written < total {
        let n = (total - written).min(1 << 20) as usize;
        buf.resize(n, 0);
        rng.fill_bytes(buf);
        if first {
            buf[..header.len()].copy_from_slice(&header);
            first = false;
        }
        file.write_all(buf)
            .with_context(|| format!("write {}", path.display()))?;
        written += n as u64;
    }
    Ok(total)
}

// ---------------------------------------------------------------- theme

#[rustfmt::skip]
pub(crate) const THEME_FILES: &[&str] = &[
    "layout/theme.liquid", "layout/password.liquid", "sections/header.liquid",
    "sections/footer.liquid", "sections/main-product.liquid", "sections/main-collection.liquid",
    "sections/featured-collection.liquid", "sections/image-banner.liquid",
    "sections/rich-text.liquid", "sections/newsletter.liquid", "sections/cart-drawer.liquid",
    "sections/multicolumn.liquid", "snippets/price.liquid", "snippets/product-card.liquid",
    "snippets/icon-cart.liquid", "snippets/pagination.liquid", "snippets/facets.liquid",
    "snippets/social-icons.liquid", "templates/index.json", "templates/product.json",
    "templates/collection.json", "templates/cart.json", "templates/page.json",
    "templates/search.json", "templates/404.json", "templates/blog.json",
    "config/settings_data.json", "config/settings_schema.json", "assets/base.css",
    "assets/component-card.css", "assets/section-header.css", "assets/component-cart.css",
    "assets/global.js", "assets/cart.js", "assets/product-form.js", "assets/theme.js",
];

fn theme_ext(file: usize) -> &'static str {
    THEME_FILES[file].rsplit('.').next().unwrap_or("")
}

/// Number of blocks a theme file is made of (fixed for the file's lifetime).
pub(crate) fn theme_blocks(seed: u64, file: usize) -> u32 {
    let mut rng = item_rng(seed, TAG_THEME, file as u64, 0);
    match theme_ext(file) {
        "css" => rng.gen_range(30..150),
        "js" => rng.gen_range(8..50),
        "json" => rng.gen_range(4..24),
        _ => rng.gen_range(6..40),
    }
}

/// Content of a theme file; `edits` lists (block, day) edits, later ones win.
pub(crate) fn theme_content(seed: u64, file: usize, edits: &[(u32, u32)]) -> Result<Vec<u8>> {
    let blocks = theme_blocks(seed, file);
    let version = |b: u32| {
        edits
            .iter()
            .rev()
            .find(|e| e.0 == b)
            .map_or(0, |e| u64::from(e.1))
    };
    let block_rng = |b: u32| {
        item_rng(
            seed,
            TAG_THEME_BLOCK,
            ((file as u64) << 20) | u64::from(b),
            version(b),
        )
    };
    let ext = theme_ext(file);
    if ext == "json" {
        let mut sections = Map::new();
        let mut order = Vec::new();
        for b in 0..blocks {
            // The section name stays stable across edits; its settings change.
            let mut name_rng = item_rng(
                seed,
                TAG_THEME_BLOCK,
                ((file as u64) << 20) | u64::from(b),
                0,
            );
            let name = format!("{}-{b:03}", slug(pick(&mut name_rng, NOUNS)));
            let mut rng = block_rng(b);
            sections.insert(name.clone(), json!({
                "type": pick(&mut rng, &["image-banner", "rich-text", "featured-collection", "multicolumn", "newsletter"]),
                "settings": {
                    "heading": format!("{} {}", pick(&mut rng, ADJECTIVES), pick(&mut rng, NOUNS)),
                    "text": paragraph(&mut rng, 2),
                    "color_scheme": format!("scheme-{}", rng.gen_range(1..6)),
                    "padding_top": rng.gen_range(0..10) * 4,
                    "padding_bottom": rng.gen_range(0..10) * 4,
                    "full_width": rng.gen_bool(0.5),
                },
            }));
            order.push(Value::String(name));
        }
        let doc = json!({ "sections": sections, "order": order });
        let doc = if THEME_FILES[file].starts_with("config/") {
            json!({ "current": doc })
        } else {
            doc
        };
        let mut out = serde_json::to_vec_pretty(&doc)?;
        out.push(b'\n');
        return Ok(out);
    }
    let mut s = String::new();
    for b in 0..blocks {
        let mut rng = block_rng(b);
        let cls = format!(
            "{}-{}",
            slug(pick(&mut rng, NOUNS)),
            slug(pick(&mut rng, ADJECTIVES))
        );
        match ext {
            "css" => {
                s += &format!(".{cls}__{} {{\n", slug(pick(&mut rng, MATERIALS)));
                for _ in 0..rng.gen_range(2..9) {
                    s += &match rng.gen_range(0..6) {
                        0 => format!("  color: #{:06x};\n", rng.gen_range(0..0x100_0000)),
                        1 => format!(
                            "  padding: {}rem {}rem;\n",
                            rng.gen_range(0..40) as f32 / 10.0,
                            rng.gen_range(0..40) as f32 / 10.0
                        ),
                        2 => format!("  margin-top: {}px;\n", rng.gen_range(0..64)),
                        3 => format!(
                            "  font-size: calc(var(--font-body-scale) * {}rem);\n",
                            rng.gen_range(8..40) as f32 / 10.0
                        ),
                        4 => format!(
                            "  border-radius: var(--{cls}-radius, {}px);\n",
                            rng.gen_range(0..24)
                        ),
                        _ => format!(
                            "  display: {};\n",
                            pick(&mut rng, &["flex", "grid", "block", "none", "inline-flex"])
                        ),
                    };
                }
                s += "}\n\n";
            }
            "js" => {
                let name: String = slug(&cls)
                    .split('-')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect::<String>())
                            .unwrap_or_default()
                    })
                    .collect();
                s += &format!(
                    "class {name}{b} extends HTMLElement {{\n  constructor() {{\n    super();\n"
                );
                for i in 0..rng.gen_range(2..8) {
                    s += &format!(
                        "    this.el{i} = this.querySelector('.{cls}__{}');\n",
                        slug(pick(&mut rng, MATERIALS))
                    );
                    s += &format!("    if (this.el{i}) this.el{i}.addEventListener('{}', this.on{i}.bind(this));\n", pick(&mut rng, &["click", "change", "input", "keyup"]));
                }
                s += "  }\n\n";
                s += &format!("  async refresh() {{\n    const res = await fetch(`${{routes.cart_url}}?section_id={cls}`);\n    const html = await res.text();\n    this.innerHTML = new DOMParser().parseFromString(html, 'text/html').querySelector('#{cls}').innerHTML;\n  }}\n}}\ncustomElements.define('{cls}-{b}', {name}{b});\n\n");
            }
            _ => {
                let key = slug(pick(&mut rng, LOREM));
                s += &format!("{{%- if section.settings.{key} != blank -%}}\n<div class=\"{cls} page-width\" data-block=\"{b}\">\n  <h2 class=\"{cls}__title\">{{{{ section.settings.{key} | escape }}}}</h2>\n  {{%- for block in section.blocks -%}}\n    <div class=\"{cls}__item\" {{{{ block.shopify_attributes }}}}>\n");
                for _ in 0..rng.gen_range(1..5) {
                    s += &format!(
                        "      <p class=\"{cls}__text\">{}</p>\n",
                        sentence(&mut rng, 5, 14)
                    );
                }
                s += "    </div>\n  {%- endfor -%}\n</div>\n{%- endif -%}\n\n";
            }
        }
    }
    Ok(s.into_bytes())
}
