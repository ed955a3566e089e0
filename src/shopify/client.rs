//! The GraphQL Admin API client: one POST per query, the store's cost-based rate limit respected
//! (a leaky bucket read from each answer's `throttleStatus`), `THROTTLED` and HTTP 429 waited
//! out, network faults and 5xx retried with decorrelated jitter, and typed errors for the rest.

use super::error::{Error, Result};
pub use crate::backend::RetryPolicy;
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts of what the client did, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct Counters {
    /// GraphQL requests sent, retries included.
    pub requests: AtomicU64,
    /// Other GETs (bulk results, media, theme files by URL).
    pub downloads: AtomicU64,
    /// Answers that asked to slow down (`THROTTLED` or HTTP 429).
    pub throttled: AtomicU64,
    /// Requests tried again after a network fault or a 5xx.
    pub retried: AtomicU64,
    /// Milliseconds spent waiting for the rate limit.
    pub waited_ms: AtomicU64,
}

/// The store's rate-limit bucket as last reported.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    available: f64,
    maximum: f64,
    restore_rate: f64,
    at: Instant,
}

impl Bucket {
    /// The wait before a query of `cost` fits, by the last report and the time since.
    fn wait_for(&self, cost: f64) -> Duration {
        if self.restore_rate <= 0.0 {
            return Duration::ZERO;
        }
        let now = self.available + self.restore_rate * self.at.elapsed().as_secs_f64();
        let now = now.min(self.maximum);
        let cost = cost.min(self.maximum);
        if cost <= now {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((cost - now) / self.restore_rate)
        }
    }
}

/// A client for one store's Admin API.
pub struct AdminClient {
    http: Client,
    endpoint: String,
    token: String,
    policy: RetryPolicy,
    bucket: Mutex<Option<Bucket>>,
    /// What was done, for the report.
    pub counters: Counters,
}

/// One failed try: whether to try again, after how long at least, and what to report.
enum Failure {
    Again(Option<Duration>, String),
    Throttled(Duration, String),
    Fatal(Error),
}

impl AdminClient {
    /// A client for `admin_url` (`https://NAME.myshopify.com` or a test server) at API `version`.
    pub fn new(admin_url: &str, version: &str, token: String, policy: RetryPolicy) -> Result<Self> {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("backstock/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot make an HTTP client: {e}")))?;
        let endpoint = format!(
            "{}/admin/api/{version}/graphql.json",
            admin_url.trim_end_matches('/')
        );
        Ok(AdminClient {
            http,
            endpoint,
            token,
            policy,
            bucket: Mutex::new(None),
            counters: Counters::default(),
        })
    }

    /// Runs a query or mutation of estimated cost `cost` and returns its `data`. `what` names it
    /// in errors.
    pub fn query(&self, what: &str, document: &str, variables: Value, cost: f64) -> Result<Value> {
        let body = serde_json::to_vec(&json!({ "query": document, "variables": variables }))
            .map_err(|e| Error::InvalidInput(format!("{what}: {e}")))?;
        let mut pause = self.policy.base;
        let mut last = String::new();
        let mut throttled = 0u32;
        let mut tries = 0u32;
        while tries < self.policy.max_tries {
            self.wait_for_bucket(cost);
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .post(&self.endpoint)
                .header("X-Shopify-Access-Token", &self.token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send();
            let failure = match sent {
                Err(e) => Failure::Again(None, format!("{what}: {e}")),
                Ok(resp) => match self.answer(what, resp, cost) {
                    Ok(data) => return Ok(data),
                    Err(f) => f,
                },
            };
            match failure {
                Failure::Fatal(e) => return Err(e),
                Failure::Throttled(wait, msg) => {
                    // Slowing down is what the store asked for, not a fault: it has its own,
                    // larger allowance of tries.
                    self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    throttled += 1;
                    last = msg;
                    if throttled > self.policy.max_tries * 4 {
                        break;
                    }
                    self.sleep(wait.min(self.policy.cap));
                }
                Failure::Again(hint, msg) => {
                    tries += 1;
                    last = msg;
                    if tries >= self.policy.max_tries {
                        break;
                    }
                    self.counters.retried.fetch_add(1, Ordering::Relaxed);
                    pause = self.policy.next_pause(pause, hint);
                    std::thread::sleep(pause);
                }
            }
        }
        Err(Error::Unavailable {
            what: what.to_string(),
            tries: tries + throttled,
            last,
        })
    }

    /// GETs a URL outside the GraphQL endpoint (a bulk result, a media original): network faults
    /// and 5xx retried, other errors returned as the status. Signed URLs need no token.
    pub fn get(&self, what: &str, url: &str) -> Result<Response, GetError> {
        let mut pause = self.policy.base;
        let mut last = String::new();
        for try_ in 1..=self.policy.max_tries {
            self.counters.downloads.fetch_add(1, Ordering::Relaxed);
            let hint = match self.http.get(url).send() {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status();
                    let hint = retry_after(&resp);
                    last = format!("{what}: HTTP {status}");
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        return Err(GetError::Status(status.as_u16(), last));
                    }
                    hint
                }
                Err(e) => {
                    last = format!("{what}: {e}");
                    None
                }
            };
            if try_ < self.policy.max_tries {
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                pause = self.policy.next_pause(pause, hint);
                std::thread::sleep(pause);
            }
        }
        Err(GetError::Failed(Error::Unavailable {
            what: what.to_string(),
            tries: self.policy.max_tries,
            last,
        }))
    }

    /// PUTs `body` to a URL outside the GraphQL endpoint (a staged upload target): network
    /// faults and 5xx retried, other statuses returned.
    pub fn put(&self, what: &str, url: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
        let body = bytes::Bytes::from(body);
        let mut pause = self.policy.base;
        let mut last = String::new();
        for try_ in 1..=self.policy.max_tries {
            self.counters.downloads.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .put(url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone())
                .send();
            let hint = match sent {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    let status = resp.status();
                    let hint = retry_after(&resp);
                    let text = resp.text().unwrap_or_default();
                    last = format!("{what}: HTTP {status}: {}", short(&text));
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        return Err(Error::Refused {
                            what: what.to_string(),
                            message: last,
                        });
                    }
                    hint
                }
                Err(e) => {
                    last = format!("{what}: {e}");
                    None
                }
            };
            if try_ < self.policy.max_tries {
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                pause = self.policy.next_pause(pause, hint);
                std::thread::sleep(pause);
            }
        }
        Err(Error::Unavailable {
            what: what.to_string(),
            tries: self.policy.max_tries,
            last,
        })
    }

    /// Reads one answer: the data, or why and how to try again.
    fn answer(&self, what: &str, resp: Response, cost: f64) -> Result<Value, Failure> {
        let status = resp.status();
        let hint = retry_after(&resp);
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = hint.unwrap_or(Duration::from_secs(2));
            return Err(Failure::Throttled(wait, format!("{what}: HTTP 429")));
        }
        if status.is_server_error() {
            return Err(Failure::Again(hint, format!("{what}: HTTP {status}")));
        }
        let text = resp
            .text()
            .map_err(|e| Failure::Again(None, format!("{what}: reading the answer: {e}")))?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(Failure::Fatal(Error::Unauthorized {
                status: status.as_u16(),
                message: short(&text),
            }));
        }
        if !status.is_success() {
            return Err(Failure::Fatal(Error::Refused {
                what: what.to_string(),
                message: format!("HTTP {status}: {}", short(&text)),
            }));
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            Failure::Fatal(Error::protocol(
                what,
                format!("not JSON ({e}): {}", short(&text)),
            ))
        })?;
        self.note_cost(&v);
        if let Some(errors) = v.get("errors").filter(|e| !e.is_null()) {
            return Err(self.graphql_errors(what, errors, &v, cost));
        }
        match v.get("data") {
            Some(d) if !d.is_null() => Ok(d.clone()),
            _ => Err(Failure::Fatal(Error::protocol(
                what,
                "an answer without data",
            ))),
        }
    }

    /// Sorts GraphQL errors: THROTTLED is waited out, ACCESS_DENIED names the scope, the rest
    /// are the store's refusal.
    fn graphql_errors(&self, what: &str, errors: &Value, v: &Value, cost: f64) -> Failure {
        let list: Vec<&Value> = match errors {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let code = |e: &Value| {
            e.pointer("/extensions/code")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let message = |e: &Value| match e.get("message").and_then(Value::as_str) {
            Some(m) => m.to_string(),
            None => short(&e.to_string()),
        };
        if list.iter().any(|e| code(e).as_deref() == Some("THROTTLED")) {
            let wait = throttle_wait(v, cost);
            return Failure::Throttled(wait, format!("{what}: THROTTLED"));
        }
        if let Some(e) = list
            .iter()
            .find(|e| code(e).as_deref() == Some("ACCESS_DENIED"))
        {
            return Failure::Fatal(Error::AccessDenied {
                what: what.to_string(),
                message: message(e),
            });
        }
        if list
            .iter()
            .any(|e| code(e).as_deref() == Some("INTERNAL_SERVER_ERROR"))
        {
            let joined: Vec<String> = list.iter().map(|e| message(e)).collect();
            return Failure::Again(None, format!("{what}: {}", joined.join("; ")));
        }
        let joined: Vec<String> = list.iter().map(|e| message(e)).collect();
        Failure::Fatal(Error::Refused {
            what: what.to_string(),
            message: short(&joined.join("; ")),
        })
    }

    /// Records the bucket an answer reports.
    fn note_cost(&self, v: &Value) {
        let Some(t) = v.pointer("/extensions/cost/throttleStatus") else {
            return;
        };
        let num = |k: &str| t.get(k).and_then(Value::as_f64);
        if let (Some(available), Some(maximum), Some(restore_rate)) = (
            num("currentlyAvailable"),
            num("maximumAvailable"),
            num("restoreRate"),
        ) {
            let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            *b = Some(Bucket {
                available,
                maximum,
                restore_rate,
                at: Instant::now(),
            });
        }
    }

    /// Waits until the last reported bucket holds `cost`.
    fn wait_for_bucket(&self, cost: f64) {
        let wait = {
            let b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            b.map(|b| b.wait_for(cost)).unwrap_or_default()
        };
        if !wait.is_zero() {
            self.sleep(wait.min(self.policy.cap));
        }
    }

    fn sleep(&self, d: Duration) {
        self.counters
            .waited_ms
            .fetch_add(d.as_millis() as u64, Ordering::Relaxed);
        std::thread::sleep(d);
    }
}

/// Why a GET failed: a status the caller may act on (403 for an expired signed URL, 404), or
/// every try failed.
#[derive(Debug)]
pub enum GetError {
    /// The server answered with this status (not 5xx or 429) and a message.
    Status(u16, String),
    /// Every try failed.
    Failed(Error),
}

impl From<GetError> for Error {
    fn from(e: GetError) -> Self {
        match e {
            GetError::Status(_, message) => Error::Refused {
                what: "download".to_string(),
                message,
            },
            GetError::Failed(e) => e,
        }
    }
}

/// Fails on a payload's `userErrors`.
pub(super) fn user_errors(what: &str, payload: &Value) -> Result<()> {
    let errs = payload.get("userErrors").and_then(Value::as_array);
    let Some(errs) = errs.filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    let msgs: Vec<String> = errs
        .iter()
        .map(|e| {
            let m = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)");
            match e.get("field").and_then(Value::as_array) {
                Some(f) if !f.is_empty() => {
                    let path: Vec<String> = f
                        .iter()
                        .map(|p| p.to_string().trim_matches('"').to_string())
                        .collect();
                    format!("{}: {m}", path.join("."))
                }
                _ => m.to_string(),
            }
        })
        .collect();
    Err(Error::Refused {
        what: what.to_string(),
        message: msgs.join("; "),
    })
}

/// The wait a THROTTLED answer implies: until the bucket holds the query's cost again.
fn throttle_wait(v: &Value, cost: f64) -> Duration {
    let t = v.pointer("/extensions/cost/throttleStatus");
    let num = |k: &str| t.and_then(|t| t.get(k)).and_then(Value::as_f64);
    let requested = v
        .pointer("/extensions/cost/requestedQueryCost")
        .and_then(Value::as_f64)
        .unwrap_or(cost);
    match (num("currentlyAvailable"), num("restoreRate")) {
        (Some(a), Some(r)) if r > 0.0 => {
            Duration::from_secs_f64(((requested - a).max(0.0) / r).max(0.05))
        }
        _ => Duration::from_secs(1),
    }
}

/// `Retry-After` in (possibly fractional) seconds, as Shopify sends it ("2.0").
pub(crate) fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?;
    let secs: f64 = v.to_str().ok()?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// A server's words fit for a message: one line, at most 300 characters.
pub(crate) fn short(s: &str) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    one.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_waits_for_what_is_missing_at_the_restore_rate() {
        let b = Bucket {
            available: 10.0,
            maximum: 100.0,
            restore_rate: 50.0,
            at: Instant::now(),
        };
        assert_eq!(b.wait_for(5.0), Duration::ZERO);
        let w = b.wait_for(60.0).as_secs_f64();
        assert!(w > 0.9 && w <= 1.0, "{w}");
        // A cost above the bucket's size waits for a full bucket, not for ever.
        assert!(b.wait_for(1e9).as_secs_f64() <= 1.8);
    }

    #[test]
    fn a_throttled_answer_waits_until_the_cost_is_back() {
        let v = json!({"extensions": {"cost": {"requestedQueryCost": 110,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 10, "restoreRate": 100.0}}}});
        assert_eq!(throttle_wait(&v, 1.0), Duration::from_secs(1));
        assert_eq!(throttle_wait(&json!({}), 1.0), Duration::from_secs(1));
    }
}
