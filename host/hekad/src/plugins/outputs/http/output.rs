//! [`HttpOutput`]: one HTTP request per encoded message, and the classification of
//! its outcome for the output runner. With `workers > 1` it is a pipelined output
//! (several requests in flight, see `workers`); the classification is the same.
//!
//! The runner owns retries (exponential back-off with jitter) and acknowledgement; this
//! type only says precisely what happened:
//! - 2xx/3xx (anything below 400): delivered.
//! - connection errors, timeouts, 5xx and 408: [`OutputError::Retry`], with the
//!   server's `Retry-After` when it sent one (503 often does);
//! - 429: [`OutputError::Retry`] with `after` = `Retry-After` (seconds or HTTP-date);
//! - any other 4xx: [`OutputError::Drop`] (the request itself is wrong: resending it
//!   can never succeed), its reason holding the status and the start of the response
//!   body, which the runner logs;
//! - a request the client cannot even build: [`OutputError::Fatal`].
//!
//! Only the redacted address (`scheme://host[:port]/…`) ever reaches a log line or an
//! error reason.

use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

use heka_message::Message;
use heka_pipeline::{Delivery, Outcomes, Output, OutputError, PipelinedOutput};
use ureq::http::header::{AUTHORIZATION, RETRY_AFTER};
use ureq::http::{HeaderName, HeaderValue, Response, Uri};
use ureq::{Agent, Body};

use super::retry_after;
use super::workers::Pool;

/// Deliveries queued per worker beyond the one it is sending, so a worker that
/// finishes a request starts the next without waiting for the runner to hand it one.
const QUEUED_PER_WORKER: usize = 2;

/// How many bytes of an error response's body go into the log line and reason.
const BODY_SNIPPET: usize = 512;
/// How much of a response body is read (and thrown away) so the connection can be
/// reused; a bigger body costs a new connection, not memory.
const BODY_DRAIN: u64 = 64 * 1024;

/// The HTTP methods Heka's HttpOutput allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// Sends each message as one request. Built by [`super::HttpConfig::build`].
///
/// With `workers = 1` the runner calls [`Output::send`], one request at a time, in
/// order (Heka's behaviour). With more, it is a [`PipelinedOutput`]: requests go to a
/// pool of `workers` threads (`workers.rs`), each with a keep-alive connection.
pub struct HttpOutput {
    client: Arc<Client>,
    /// Requests in flight at most (`workers`).
    workers: usize,
    /// Started at the first pipelined submission.
    pool: Option<Pool>,
    /// Reused buffer for the start of error bodies (`send`).
    snippet: Vec<u8>,
}

/// What one request needs: shared by the pool's threads. Built by
/// `HttpConfig::build` from the checked settings.
pub(super) struct Client {
    pub(super) name: String,
    /// Kept for the output's life so connections are reused between requests.
    pub(super) agent: Agent,
    /// The full address: never logged.
    pub(super) uri: Uri,
    /// What logs and reasons show instead of `uri`.
    pub(super) redacted: String,
    pub(super) method: Method,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) authorization: Option<HeaderValue>,
}

impl HttpOutput {
    /// The output over `client` with `workers` requests in flight at most.
    pub(super) fn new(client: Client, workers: usize) -> HttpOutput {
        HttpOutput {
            client: Arc::new(client),
            workers: workers.max(1),
            pool: None,
            snippet: Vec::with_capacity(BODY_SNIPPET),
        }
    }

    /// The address as it may be logged.
    pub fn redacted_address(&self) -> &str {
        &self.client.redacted
    }
}

impl Client {
    /// The plugin's name (thread names, log lines).
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Sends one request and says what became of it.
    pub(super) fn deliver(&self, payload: &[u8], snippet: &mut Vec<u8>) -> Result<(), OutputError> {
        match self.request(payload) {
            Ok(response) => self.classify(response, snippet),
            Err(error) => Err(self.transport_error(error)),
        }
    }

    fn request(&self, payload: &[u8]) -> Result<Response<Body>, ureq::Error> {
        macro_rules! with_headers {
            ($builder:expr) => {{
                let mut builder = $builder;
                for (name, value) in &self.headers {
                    builder = builder.header(name, value);
                }
                if let Some(auth) = &self.authorization {
                    // Replaces any Authorization header from [x.headers], as Go's
                    // SetBasicAuth did.
                    if let Some(headers) = builder.headers_mut() {
                        headers.insert(AUTHORIZATION, auth.clone());
                    }
                }
                builder
            }};
        }
        let uri = self.uri.clone();
        match self.method {
            Method::Get => with_headers!(self.agent.get(uri)).call(),
            Method::Post => with_headers!(self.agent.post(uri)).send(payload),
            Method::Put => with_headers!(self.agent.put(uri)).send(payload),
        }
    }

    /// Sorts a response into delivered / retry / drop.
    fn classify(
        &self,
        mut response: Response<Body>,
        snippet: &mut Vec<u8>,
    ) -> Result<(), OutputError> {
        let status = response.status();
        let code = status.as_u16();
        if code < 400 {
            drain(response.body_mut());
            return Ok(());
        }
        let after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after::parse(v, SystemTime::now()));
        let body = body_snippet(response.body_mut(), snippet);
        let reason = format!(
            "{} {} answered {status}: {body}",
            self.method.as_str(),
            self.redacted
        );
        if code == 429 || code == 408 || code >= 500 {
            tracing::debug!(plugin = %self.name, status = code, ?after, "{reason}");
            Err(OutputError::Retry { reason, after })
        } else {
            // The runner logs the drop (with this reason) at warn level.
            tracing::debug!(plugin = %self.name, status = code, "not retryable: {reason}");
            Err(OutputError::Drop(reason))
        }
    }

    /// Sorts a transport error: everything the network or the server can cause is
    /// retried; what only a bad request can cause is fatal.
    fn transport_error(&self, error: ureq::Error) -> OutputError {
        let what = match &error {
            // The address and headers were validated at start-up: these cannot come
            // from the network, and retrying cannot fix them. The URI is left out of
            // the reason on purpose.
            ureq::Error::BadUri(_) => Some("the address is not a valid URL"),
            ureq::Error::Http(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::RequireHttpsOnly(_) => None,
            _ => {
                let reason = format!("{} {}: {error}", self.method.as_str(), self.redacted);
                tracing::debug!(plugin = %self.name, "{reason}");
                return OutputError::Retry {
                    reason,
                    after: None,
                };
            }
        };
        OutputError::Fatal(match what {
            Some(what) => format!("{} {}: {what}", self.method.as_str(), self.redacted),
            None => format!("{} {}: {error}", self.method.as_str(), self.redacted),
        })
    }
}

/// The first [`BODY_SNIPPET`] bytes of the body as one printable line (the rest is
/// drained for connection reuse).
fn body_snippet(body: &mut Body, snippet: &mut Vec<u8>) -> String {
    snippet.clear();
    let mut reader = body.as_reader();
    // A body that fails mid-read still gives what was read so far.
    let _ = (&mut reader)
        .take(BODY_SNIPPET as u64 + 1)
        .read_to_end(snippet);
    let _ = std::io::copy(&mut reader.take(BODY_DRAIN), &mut std::io::sink());
    let truncated = snippet.len() > BODY_SNIPPET;
    snippet.truncate(BODY_SNIPPET);
    let text = String::from_utf8_lossy(snippet);
    let mut line: String = text.trim().escape_debug().collect();
    if line.is_empty() {
        line.push_str("(empty body)");
    } else if truncated {
        line.push('…');
    }
    line
}

/// Shows only what may be logged: no full address, no header values.
impl std::fmt::Debug for HttpOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let client = &self.client;
        f.debug_struct("HttpOutput")
            .field("name", &client.name)
            .field("address", &client.redacted)
            .field("method", &client.method)
            .field("headers", &client.headers.len())
            .field("basic_auth", &client.authorization.is_some())
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

fn drain(body: &mut Body) {
    let _ = std::io::copy(&mut body.as_reader().take(BODY_DRAIN), &mut std::io::sink());
}

impl Output for HttpOutput {
    fn send(&mut self, _msg: &Message, payload: &[u8]) -> Result<(), OutputError> {
        self.client.deliver(payload, &mut self.snippet)
    }

    fn pipelined(&mut self) -> Option<&mut dyn PipelinedOutput> {
        if self.workers > 1 { Some(self) } else { None }
    }
}

impl PipelinedOutput for HttpOutput {
    fn max_in_flight(&self) -> usize {
        self.workers * QUEUED_PER_WORKER
    }

    fn submit(&mut self, delivery: Delivery, outcomes: &Outcomes) -> Result<(), OutputError> {
        if self.pool.is_none() {
            self.pool = Some(Pool::start(&self.client, self.workers, outcomes)?);
        }
        match &self.pool {
            Some(pool) => pool.submit(delivery),
            None => Err(OutputError::Fatal("no request workers".into())),
        }
    }
}
