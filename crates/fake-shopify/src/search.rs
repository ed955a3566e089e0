//! The `query:` argument of connections, in a simplified form of Shopify's search syntax:
//! `field:value` terms joined by spaces or `AND` (all must hold), groups joined by `OR` (one must
//! hold), `-field:value` or `NOT field:value` negates, values may be quoted (`'...'` or `"..."`),
//! a trailing `*` matches a prefix, and `field:>v`, `>=`, `<`, `<=` compare (numbers as numbers,
//! other values as strings, so ISO times work). Comparisons ignore case. A term on a field the
//! connection does not know is ignored; a bare word matches when one of the connection's text
//! fields contains it.

/// One search term.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Term {
    field: Option<String>,
    value: String,
    negated: bool,
}

fn tokens(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in q.chars() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses a query into OR-groups of AND-ed terms.
pub(crate) fn parse(q: &str) -> Vec<Vec<Term>> {
    let mut groups = vec![Vec::new()];
    let mut negate_next = false;
    for tok in tokens(q) {
        match tok.as_str() {
            "AND" => continue,
            "OR" => {
                groups.push(Vec::new());
                continue;
            }
            "NOT" => {
                negate_next = true;
                continue;
            }
            _ => {}
        }
        let (negated, body) = match tok.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest.to_string()),
            _ => (false, tok.clone()),
        };
        let term = match body.split_once(':') {
            Some((field, value)) => Term {
                field: Some(field.to_ascii_lowercase()),
                value: value.to_string(),
                negated: negated ^ negate_next,
            },
            None => Term {
                field: None,
                value: body,
                negated: negated ^ negate_next,
            },
        };
        negate_next = false;
        if let Some(g) = groups.last_mut() {
            g.push(term);
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

fn compare(have: &str, op: &str, want: &str) -> bool {
    let ord = match (have.parse::<f64>(), want.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b),
        _ => Some(have.cmp(want)),
    };
    let Some(ord) = ord else { return false };
    match op {
        ">" => ord.is_gt(),
        ">=" => ord.is_ge(),
        "<" => ord.is_lt(),
        _ => ord.is_le(),
    }
}

fn value_matches(have: &str, want: &str) -> bool {
    let have = have.to_lowercase();
    let want = want.to_lowercase();
    for op in [">=", "<=", ">", "<"] {
        if let Some(w) = want.strip_prefix(op) {
            return compare(&have, op, w);
        }
    }
    match want.strip_suffix('*') {
        Some(prefix) => have.starts_with(prefix),
        None => have == want,
    }
}

/// Whether an item matches the parsed query. `lookup(field)` gives the item's values of a field
/// (`None` for a field the connection does not know); `lookup("")` gives its free-text fields.
pub(crate) fn matches(groups: &[Vec<Term>], lookup: impl Fn(&str) -> Option<Vec<String>>) -> bool {
    if groups.is_empty() {
        return true;
    }
    groups.iter().any(|terms| {
        terms.iter().all(|t| {
            let hit = match &t.field {
                Some(field) => match lookup(field) {
                    None => return true,
                    Some(values) => values.iter().any(|v| value_matches(v, &t.value)),
                },
                None => match lookup("") {
                    None => return true,
                    Some(values) => values
                        .iter()
                        .any(|v| v.to_lowercase().contains(&t.value.to_lowercase())),
                },
            };
            hit != t.negated
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(field: &str) -> Option<Vec<String>> {
        match field {
            "handle" => Some(vec!["about-us".into()]),
            "id" => Some(vec!["120300000017".into()]),
            "tag" => Some(vec!["news".into(), "care".into()]),
            "" => Some(vec!["About us".into()]),
            _ => None,
        }
    }

    #[test]
    fn terms_groups_and_operators() {
        let ok = |q: &str| matches(&parse(q), item);
        assert!(ok(""));
        assert!(ok("handle:about-us"));
        assert!(ok("handle:'about-us'"));
        assert!(ok("handle:\"ABOUT-US\""));
        assert!(!ok("handle:about"));
        assert!(ok("handle:about*"));
        assert!(ok("tag:care AND handle:about-us"));
        assert!(!ok("tag:care handle:faq"));
        assert!(ok("handle:faq OR tag:news"));
        assert!(ok("-handle:faq"));
        assert!(!ok("NOT handle:about-us"));
        assert!(ok("id:>1000 id:<=120300000017"));
        assert!(!ok("id:>120300000017"));
        assert!(ok("unknown:x"));
        assert!(ok("about"));
        assert!(!ok("contact"));
    }
}
