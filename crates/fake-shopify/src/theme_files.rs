//! The two themes of a generated store and their files: Liquid layouts, sections and snippets,
//! JSON templates, settings, locales, CSS, JS and one binary asset (`assets/logo.png`).

use crate::model::{iso, IdAllocator, Kind, Theme, DAY, EPOCH};
use crate::streams::{rng_for, tag};
use rand::{Rng, RngCore};
use std::collections::BTreeMap;

fn section(name: &str, body: &str) -> String {
    format!(
        "{{% comment %}} Section: {name} {{% endcomment %}}\n<section class=\"section-{name}\">\n  {body}\n</section>\n\n{{% schema %}}\n{{\n  \"name\": \"{name}\",\n  \"settings\": [\n    {{ \"type\": \"text\", \"id\": \"heading\", \"label\": \"Heading\" }}\n  ]\n}}\n{{% endschema %}}\n"
    )
}

fn template(main: &str) -> String {
    format!(
        "{{\n  \"sections\": {{\n    \"main\": {{\n      \"type\": \"{main}\",\n      \"settings\": {{}}\n    }}\n  }},\n  \"order\": [\n    \"main\"\n  ]\n}}\n"
    )
}

/// The text files of a theme, by name.
fn text_files(accent: &str, full: bool) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "layout/theme.liquid".to_string(),
            "<!doctype html>\n<html lang=\"{{ request.locale.iso_code }}\">\n<head>\n  <meta charset=\"utf-8\">\n  <title>{{ page_title }}</title>\n  {{ 'base.css' | asset_url | stylesheet_tag }}\n  {{ content_for_header }}\n</head>\n<body>\n  {% section 'header' %}\n  <main id=\"MainContent\">{{ content_for_layout }}</main>\n  {% section 'footer' %}\n  <script src=\"{{ 'theme.js' | asset_url }}\" defer></script>\n</body>\n</html>\n".to_string(),
        ),
        ("sections/header.liquid".into(), section("header", "<a href=\"/\"><img src=\"{{ 'logo.png' | asset_url }}\" alt=\"{{ shop.name }}\"></a>")),
        ("sections/footer.liquid".into(), section("footer", "<p>&copy; {{ 'now' | date: '%Y' }} {{ shop.name }}</p>")),
        ("sections/main-product.liquid".into(), section("main-product", "<h1>{{ product.title }}</h1>\n  {% render 'price', product: product %}\n  {{ product.description }}")),
        ("snippets/price.liquid".into(), "<span class=\"price\">{{ product.price | money }}</span>\n".into()),
        ("templates/index.json".into(), template("image-banner")),
        ("templates/product.json".into(), template("main-product")),
        ("config/settings_data.json".into(), format!("{{\n  \"current\": {{\n    \"colors_accent_1\": \"{accent}\",\n    \"type_header_font\": \"assistant_n4\"\n  }}\n}}\n")),
        ("locales/en.default.json".into(), "{\n  \"general\": {\n    \"cart\": \"Cart\",\n    \"search\": \"Search\"\n  },\n  \"products\": {\n    \"add_to_cart\": \"Add to cart\",\n    \"sold_out\": \"Sold out\"\n  }\n}\n".into()),
        ("assets/base.css".into(), format!(":root {{\n  --color-accent: {accent};\n  --page-width: 120rem;\n}}\nbody {{\n  margin: 0;\n  font-family: Assistant, sans-serif;\n}}\n.price {{\n  font-weight: 600;\n}}\n")),
        ("assets/theme.js".into(), "// Theme behaviour.\ndocument.addEventListener('DOMContentLoaded', () => {\n  document.documentElement.classList.add('js');\n});\n".into()),
    ];
    if full {
        files.extend([
            ("layout/password.liquid".to_string(), "<!doctype html>\n<html>\n<body>{{ content_for_layout }}</body>\n</html>\n".to_string()),
            ("sections/main-collection.liquid".into(), section("main-collection", "{% for product in collection.products %}{% render 'card-product', product: product %}{% endfor %}")),
            ("sections/image-banner.liquid".into(), section("image-banner", "<div class=\"banner\">{{ section.settings.heading }}</div>")),
            ("sections/main-page.liquid".into(), section("main-page", "<h1>{{ page.title }}</h1>{{ page.content }}")),
            ("snippets/card-product.liquid".into(), "<div class=\"card\">\n  <a href=\"{{ product.url }}\">{{ product.title | escape }}</a>\n  {% render 'price', product: product %}\n</div>\n".into()),
            ("snippets/icon-cart.liquid".into(), "<svg class=\"icon icon-cart\" viewBox=\"0 0 40 40\"><path d=\"M4 4h6l4 20h18\"/></svg>\n".into()),
            ("templates/collection.json".into(), template("main-collection")),
            ("templates/page.json".into(), template("main-page")),
            ("templates/page.contact.json".into(), template("main-page")),
            ("config/settings_schema.json".into(), "[\n  {\n    \"name\": \"theme_info\",\n    \"theme_name\": \"Dawn\",\n    \"theme_version\": \"15.0.0\"\n  }\n]\n".into()),
            ("locales/fr.json".into(), "{\n  \"general\": {\n    \"cart\": \"Panier\",\n    \"search\": \"Rechercher\"\n  },\n  \"products\": {\n    \"add_to_cart\": \"Ajouter au panier\",\n    \"sold_out\": \"Épuisé\"\n  }\n}\n".into()),
        ]);
    }
    files
}

/// A small PNG-looking binary asset (signature, then noise: never valid UTF-8).
fn logo(seed: u64) -> Vec<u8> {
    let mut rng = rng_for(seed, tag::THEME, 99);
    let mut bytes = vec![0u8; 1500 + rng.gen_range(0..1000)];
    rng.fill_bytes(&mut bytes);
    bytes[..8].copy_from_slice(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    bytes
}

/// The main theme (22 files) and an older unpublished one (12 files).
pub(crate) fn themes(ids: &mut IdAllocator, seed: u64) -> BTreeMap<u64, Theme> {
    let accents = ["#1f6feb", "#c2410c", "#15803d", "#7c3aed", "#be123c"];
    let accent = accents[(seed % accents.len() as u64) as usize];
    let mut out = BTreeMap::new();
    for (name, role, full, age) in [
        ("Dawn (old)", "UNPUBLISHED", false, 500),
        ("Dawn", "MAIN", true, 300),
    ] {
        let id = ids.next(Kind::Theme);
        let mut files: BTreeMap<String, Vec<u8>> =
            text_files(if full { accent } else { "#000000" }, full)
                .into_iter()
                .map(|(n, t)| (n, t.into_bytes()))
                .collect();
        files.insert("assets/logo.png".into(), logo(seed));
        out.insert(
            id,
            Theme {
                id,
                name: name.into(),
                role: role.into(),
                created_at: iso(EPOCH - age * DAY),
                updated_at: iso(EPOCH - age * DAY / 2),
                files,
            },
        );
    }
    out
}

/// Whether a theme file is sent as text (valid UTF-8) rather than base64.
pub fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok()
}

/// The MIME type Shopify reports for a theme file.
pub fn content_type(filename: &str) -> &'static str {
    match filename.rsplit('.').next().unwrap_or("") {
        "liquid" => "text/x-liquid",
        "json" => "application/json",
        "css" => "text/css",
        "js" => "application/javascript",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Hex MD5 of a file's bytes (`checksumMd5`).
pub fn checksum_md5(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
