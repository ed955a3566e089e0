//! Entities read with ordinary paginated queries rather than bulk operations (menus, metaobject
//! definitions and metaobjects, locations): small in number, or not offered to bulk queries.

use super::client::AdminClient;
use super::error::{Error, Result};
use super::layout::{canonical, number_of, safe_relative};
use super::queries;
use super::staging::Staging;
use serde_json::{json, Value};
use std::path::PathBuf;

/// A paginated list and where its items go.
pub struct Paged {
    /// The name in messages.
    pub name: &'static str,
    /// The query; takes `$after`.
    pub query: &'static str,
    /// The root field of the answer holding `nodes` and `pageInfo`.
    pub root: &'static str,
    /// The folder the items go to, one `<numeric id>.json` each.
    pub folder: &'static str,
    /// The estimated cost of one page.
    pub cost: f64,
}

/// Navigation menus.
pub const MENUS: Paged = Paged {
    name: "menus",
    query: queries::MENUS,
    root: "menus",
    folder: "menus",
    cost: 52.0,
};

/// Locations.
pub const LOCATIONS: Paged = Paged {
    name: "locations",
    query: queries::LOCATIONS,
    root: "locations",
    folder: "locations",
    cost: 252.0,
};

/// Every node of a paginated list, page after page, handed to `each`.
fn each_node(
    client: &AdminClient,
    what: &str,
    query: &str,
    root: &str,
    mut vars: Value,
    cost: f64,
    each: &mut dyn FnMut(Value) -> Result<()>,
) -> Result<u64> {
    let mut n = 0;
    loop {
        let data = client.query(what, query, vars.clone(), cost)?;
        let page = data
            .get(root)
            .filter(|p| !p.is_null())
            .ok_or_else(|| Error::protocol(what, format!("no {root} in the answer")))?;
        for node in page
            .get("nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            n += 1;
            each(node.clone())?;
        }
        let info = page.get("pageInfo");
        let more = info
            .and_then(|i| i.get("hasNextPage"))
            .and_then(Value::as_bool)
            == Some(true);
        match info
            .and_then(|i| i.get("endCursor"))
            .and_then(Value::as_str)
        {
            Some(c) if more => vars["after"] = json!(c),
            _ => return Ok(n),
        }
    }
}

/// Exports a paginated entity into its folder; returns the number of items.
pub fn export_pages(client: &AdminClient, staging: &Staging, p: &Paged) -> Result<u64> {
    let what = format!("exporting {}", p.name);
    each_node(
        client,
        &what,
        p.query,
        p.root,
        json!({}),
        p.cost,
        &mut |node| {
            let n = number_of(p.name, &node)?;
            let rel = PathBuf::from(p.folder).join(format!("{n}.json"));
            staging.write(&rel, &canonical(&node))
        },
    )
}

/// Exports the metaobject definitions (`metaobject-definitions/<type>.json`) and every
/// metaobject of each type (`metaobjects/<type>/<id>.json`); returns both counts.
pub fn export_metaobjects(client: &AdminClient, staging: &Staging) -> Result<(u64, u64)> {
    let mut types = Vec::new();
    let defs = each_node(
        client,
        "exporting metaobject definitions",
        queries::METAOBJECT_DEFINITIONS,
        "metaobjectDefinitions",
        json!({}),
        52.0,
        &mut |node| {
            let ty = node
                .get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Error::protocol(
                        "exporting metaobject definitions",
                        "a definition without a type",
                    )
                })?
                .to_string();
            let rel = PathBuf::from("metaobject-definitions")
                .join(safe_relative("a metaobject type", &format!("{ty}.json"))?);
            staging.write(&rel, &canonical(&node))?;
            types.push(ty);
            Ok(())
        },
    )?;
    let mut objects = 0;
    for ty in types {
        let dir = PathBuf::from("metaobjects").join(safe_relative("a metaobject type", &ty)?);
        objects += each_node(
            client,
            &format!("exporting metaobjects of type {ty}"),
            queries::METAOBJECTS,
            "metaobjects",
            json!({ "type": ty }),
            252.0,
            &mut |node| {
                let n = number_of("metaobjects", &node)?;
                staging.write(&dir.join(format!("{n}.json")), &canonical(&node))
            },
        )?;
    }
    Ok((defs, objects))
}
