//! The GraphQL endpoint: authentication, injected faults, the cost check against the bucket, then
//! the query or mutation, and the `extensions.cost` of every answer.

use crate::exec::{parse_gid, Ctx, GqlError, Obj};
use crate::gql::{self, Document, Selection};
use crate::mutations;
use crate::state::{Reply, State};
use crate::throttle::requested_cost;
use serde_json::{json, Map, Value};

/// The 401 answer's text.
pub const BAD_TOKEN: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

fn answer(
    state: &mut State,
    body: Map<String, Value>,
    requested: u64,
    actual: Option<u64>,
) -> Reply {
    let mut body = body;
    let cost = state.bucket.cost_extension(requested, actual);
    body.insert("extensions".into(), json!({ "cost": cost }));
    Reply::json(200, &Value::Object(body))
}

fn errors_body(errors: &[GqlError], with_data: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "errors".into(),
        Value::Array(errors.iter().map(GqlError::to_json).collect()),
    );
    if with_data {
        m.insert("data".into(), Value::Null);
    }
    m
}

fn throttled(state: &mut State, requested: u64) -> Reply {
    state.counters.throttled += 1;
    let e = GqlError::new("Throttled", Some("THROTTLED"))
        .with("documentation", "https://shopify.dev/api/usage/rate-limits");
    answer(state, errors_body(&[e], false), requested, None)
}

/// Handles one POST to `/admin/api/{version}/graphql.json`.
pub fn graphql(state: &mut State, token: Option<&str>, body: &[u8]) -> Reply {
    state.counters.graphql_requests += 1;
    if matches!(token.map(str::trim), None | Some("") | Some("bad")) {
        return Reply::error(401, BAD_TOKEN);
    }
    if state.too_many_next > 0 {
        state.too_many_next -= 1;
        state.counters.too_many += 1;
        let mut r = Reply::error(429, "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.");
        r.headers
            .push(("Retry-After", state.options.retry_after.clone()));
        return r;
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Reply::error(400, &format!("Invalid JSON in request body: {e}")),
    };
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return Reply::json(
            400,
            &json!({"errors": {"query": "Required parameter missing or invalid"}}),
        );
    };
    let mut vars = match request.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Map<String, Value>>(s) {
            Ok(m) => m,
            Err(e) => return Reply::error(400, &format!("Invalid variables: {e}")),
        },
        Some(_) => return Reply::error(400, "Invalid variables: expected an object"),
    };
    let operation = request.get("operationName").and_then(Value::as_str);
    let doc = match gql::parse(query, operation) {
        Ok(d) => d,
        Err(message) => {
            let e = GqlError::new(message, Some("parseError"));
            return answer(state, errors_body(&[e], false), 0, None);
        }
    };
    for (k, v) in &doc.defaults {
        vars.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let requested = requested_cost(&doc, &vars);
    if state.throttle_next > 0 {
        state.throttle_next -= 1;
        return throttled(state, requested);
    }
    let limit = state.bucket.max_query_cost();
    if requested > limit {
        let e = GqlError::new(
            format!(
                "Query cost is {requested}, which exceeds the single query max cost limit ({limit}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
            ),
            Some("MAX_COST_EXCEEDED"),
        )
        .with("cost", requested)
        .with("maxCost", limit)
        .with("documentation", "https://shopify.dev/api/usage/rate-limits");
        return answer(state, errors_body(&[e], false), requested, None);
    }
    if !state.bucket.try_take(requested) {
        return throttled(state, requested);
    }
    let (result, actual) = match doc.kind.as_str() {
        "mutation" => (mutations::execute(state, &doc, &vars), requested),
        "query" => run_query(state, &doc, &vars, requested),
        other => (
            Err(GqlError::new(
                format!("{other} operations are not supported"),
                Some("OPERATION_NOT_SUPPORTED"),
            )),
            1,
        ),
    };
    let actual = actual.min(requested);
    state.bucket.refund(requested - actual);
    match result {
        Ok(data) => {
            let mut m = Map::new();
            m.insert("data".into(), Value::Object(data));
            answer(state, m, requested, Some(actual))
        }
        Err(e) => {
            let code = e
                .extensions
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("");
            let validation = matches!(
                code,
                "undefinedField"
                    | "selectionMismatch"
                    | "argumentLiteralsIncompatible"
                    | "missingRequiredArguments"
                    | "parseError"
            );
            answer(
                state,
                errors_body(&[e], !validation),
                requested,
                Some(actual),
            )
        }
    }
}

/// Polls the bulk operations a query names, then runs it. Returns the data and the actual cost.
fn run_query(
    state: &mut State,
    doc: &Document,
    vars: &Map<String, Value>,
    requested: u64,
) -> (Result<Map<String, Value>, GqlError>, u64) {
    let mut polled = Vec::new();
    for s in &doc.selection {
        let Selection::Field(f) = s else { continue };
        match f.name.as_str() {
            "node" | "bulkOperation" => polled.extend(
                f.arg("id", vars)
                    .and_then(|id| parse_gid("BulkOperation", &id)),
            ),
            "nodes" => {
                let ids = f
                    .arg("ids", vars)
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default();
                polled.extend(ids.iter().filter_map(|id| parse_gid("BulkOperation", id)));
            }
            "currentBulkOperation" => polled.extend(state.bulk.last),
            _ => {}
        }
    }
    let now = state.store.now();
    for id in polled {
        state.bulk.poll(
            id,
            state.options.poll_steps,
            &mut state.expire_next_bulk,
            &now,
        );
    }
    let mut ctx = Ctx::new(
        &state.store,
        &state.bulk,
        vars,
        &doc.fragments,
        &state.base,
        &state.denied,
    );
    let result = ctx.select(&Obj::Query, &doc.selection);
    let (bodies, nodes) = (ctx.theme_bodies, ctx.nodes_returned);
    if result.is_ok() {
        state.counters.theme_bodies += bodies;
    }
    let actual = if result.is_ok() { 1 + nodes } else { 1 };
    (result, actual.min(requested))
}
