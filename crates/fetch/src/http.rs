//! One GET with everything a feed download needs: rate limiting, conditional headers, retries with
//! back-off (honouring `Retry-After`), a cap on the body, detection of cut-short bodies, gzip transfer
//! decoding, and a check of the body's shape before it is accepted.

use std::io::Read;
use std::time::Duration;

use flate2::read::GzDecoder;
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, Url};

use crate::clock::RateLimiter;
use crate::time::{parse_http_date, unix};
use crate::{Ctx, Event, Feed, FetchError, UpdateOptions};

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub initial_delay: Duration,
    /// The longest wait computed by doubling.
    pub max_delay: Duration,
    /// The longest wait a server's `Retry-After` can ask for; longer requests are cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The exponential back-off after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// A request to make.
pub(crate) struct Get<'a> {
    pub url: Url,
    pub feed: Feed,
    /// Extra headers: `apiKey`, `If-None-Match`, `If-Modified-Since`.
    pub headers: Vec<(&'static str, String)>,
    /// The feed's rate limiter, if it has one.
    pub limiter: Option<&'a mut RateLimiter>,
    /// Whether 403 means "slow down" (the NVD's way) rather than "forbidden".
    pub retry_forbidden: bool,
}

/// What a GET brought back.
pub(crate) enum Fetched<T> {
    /// 304: the copy we have is current.
    NotModified,
    /// A new body that passed the check.
    New {
        body: Vec<u8>,
        value: T,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// A raw response, body read in full.
struct Raw {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Why an attempt failed.
enum AttemptError {
    /// Worth another try, after `retry_after` if the server said.
    Retry {
        problem: String,
        retry_after: Option<Duration>,
    },
    /// Not worth another try.
    Fatal(FetchError),
}

/// The HTTP client and the single-threaded runtime that drives it.
pub(crate) struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    retry: RetryPolicy,
    max_body: u64,
}

impl Http {
    pub(crate) fn new(opts: &UpdateOptions) -> Result<Http, FetchError> {
        crate::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        let client = reqwest::Client::builder()
            .user_agent(opts.user_agent.as_str())
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.read_timeout)
            .redirect(redirect_policy())
            .referer(false)
            .build()
            .map_err(|e| FetchError::Client(error_chain(&e)))?;
        Ok(Http {
            rt,
            client,
            retry: RetryPolicy {
                max_attempts: opts.retry.max_attempts.max(1),
                ..opts.retry
            },
            max_body: opts.max_body_bytes,
        })
    }

    /// GETs `req.url` until it succeeds, `check` accepts the body, or the attempts run out.
    pub(crate) fn get<T>(
        &self,
        mut req: Get<'_>,
        check: impl Fn(&[u8]) -> Result<T, String>,
        ctx: &mut Ctx<'_>,
    ) -> Result<Fetched<T>, FetchError> {
        let url = req.url.to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            ctx.check_cancelled()?;
            if let Some(limiter) = req.limiter.as_deref_mut() {
                let wait = limiter.delay(ctx.clock.now());
                if !wait.is_zero() {
                    (ctx.progress)(Event::RateLimited {
                        feed: req.feed,
                        delay: wait,
                    });
                }
                limiter.acquire(ctx.clock);
            }
            (ctx.progress)(Event::Request {
                feed: req.feed,
                url: url.clone(),
            });
            let res = self
                .rt
                .block_on(self.send(&req, self.max_body))
                .and_then(|raw| self.classify(&req, raw, ctx));
            let err = match res {
                Ok(Some((raw, etag, last_modified))) => match check(&raw) {
                    Ok(value) => {
                        return Ok(Fetched::New {
                            body: raw,
                            value,
                            etag,
                            last_modified,
                        });
                    }
                    Err(problem) => AttemptError::Retry {
                        problem,
                        retry_after: None,
                    },
                },
                Ok(None) => return Ok(Fetched::NotModified),
                Err(e) => e,
            };
            match err {
                AttemptError::Fatal(e) => return Err(e),
                AttemptError::Retry { problem, .. } if attempt >= self.retry.max_attempts => {
                    return Err(FetchError::GaveUp {
                        url,
                        problem,
                        attempts: attempt,
                    });
                }
                AttemptError::Retry {
                    problem,
                    retry_after,
                } => {
                    let delay = match retry_after {
                        Some(d) => d.min(self.retry.max_retry_after),
                        None => self.retry.backoff(attempt),
                    };
                    (ctx.progress)(Event::Retrying {
                        feed: req.feed,
                        url: url.clone(),
                        attempt,
                        delay,
                        problem,
                    });
                    ctx.clock.sleep(delay);
                }
            }
        }
    }

    /// Sends one request and reads the whole body (for 2xx), up to `max_body` bytes.
    async fn send(&self, req: &Get<'_>, max_body: u64) -> Result<Raw, AttemptError> {
        let mut builder = self
            .client
            .get(req.url.clone())
            .header(header::ACCEPT_ENCODING, "gzip");
        for (name, value) in &req.headers {
            builder = builder.header(*name, value.as_str());
        }
        let mut resp = builder.send().await.map_err(|e| {
            if e.is_redirect() {
                AttemptError::Fatal(FetchError::BadResponse {
                    url: req.url.to_string(),
                    problem: error_chain(&e.without_url()),
                })
            } else {
                AttemptError::Retry {
                    problem: format!("request failed: {}", error_chain(&e.without_url())),
                    retry_after: None,
                }
            }
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        if status.is_success() {
            let expected = content_length(&headers);
            if expected.is_some_and(|n| n > max_body) {
                return Err(AttemptError::Fatal(FetchError::BadResponse {
                    url: req.url.to_string(),
                    problem: format!(
                        "the body is larger than the {max_body}-byte limit; raise max_body_bytes"
                    ),
                }));
            }
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        if body.len() as u64 + chunk.len() as u64 > max_body {
                            return Err(AttemptError::Fatal(FetchError::BadResponse {
                                url: req.url.to_string(),
                                problem: format!(
                                    "the body is larger than the {max_body}-byte limit; raise max_body_bytes"
                                ),
                            }));
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let problem = match expected {
                            Some(n) => format!(
                                "body cut short after {} of {n} bytes: {}",
                                body.len(),
                                error_chain(&e.without_url())
                            ),
                            None => format!(
                                "connection lost after {} bytes of the body: {}",
                                body.len(),
                                error_chain(&e.without_url())
                            ),
                        };
                        return Err(AttemptError::Retry {
                            problem,
                            retry_after: None,
                        });
                    }
                }
            }
            // hyper already refuses a body shorter than its Content-Length; this catches any path that
            // does not (a proxy that rewrote the framing, say).
            if let Some(n) = expected
                && body.len() as u64 != n
            {
                return Err(AttemptError::Retry {
                    problem: format!("body has {} bytes, Content-Length said {n}", body.len()),
                    retry_after: None,
                });
            }
        }
        Ok(Raw {
            status,
            headers,
            body,
        })
    }

    /// Sorts a response into success (body, `ETag`, `Last-Modified`), not modified (`None`), or an error.
    #[allow(clippy::type_complexity)]
    fn classify(
        &self,
        req: &Get<'_>,
        raw: Raw,
        ctx: &Ctx<'_>,
    ) -> Result<Option<(Vec<u8>, Option<String>, Option<String>)>, AttemptError> {
        let status = raw.status;
        if status == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if status.is_success() {
            let body = if is_gzip_encoded(&raw.headers) {
                gunzip(&raw.body, self.max_body).map_err(|problem| AttemptError::Retry {
                    problem: format!("gzip transfer encoding: {problem}"),
                    retry_after: None,
                })?
            } else {
                raw.body
            };
            return Ok(Some((
                body,
                header_string(&raw.headers, header::ETAG),
                header_string(&raw.headers, header::LAST_MODIFIED),
            )));
        }
        let detail = header_string(&raw.headers, "message")
            .map(|m| format!(": {}", truncate(&m, 300)))
            .unwrap_or_default();
        let retryable = status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error()
            || (status == StatusCode::FORBIDDEN && req.retry_forbidden);
        if retryable {
            let retry_after = header_string(&raw.headers, header::RETRY_AFTER)
                .and_then(|v| parse_retry_after(&v, unix(ctx.clock.wall())));
            return Err(AttemptError::Retry {
                problem: format!("HTTP status {}{detail}", status.as_u16()),
                retry_after,
            });
        }
        Err(AttemptError::Fatal(FetchError::Status {
            url: req.url.to_string(),
            status: status.as_u16(),
            detail,
        }))
    }
}

/// Follows at most 5 redirects, never from HTTPS down to HTTP, and never to an IP address other than the
/// one first asked: feeds live on named hosts, and a redirect to a bare address is the shape of a request
/// steered into a local network, which medsentry must never touch.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first().cloned() else {
            return attempt.follow();
        };
        let to = attempt.url().clone();
        if attempt.previous().len() > 5 {
            return attempt.error("more than 5 redirects");
        }
        if first.scheme() == "https" && to.scheme() != "https" {
            return attempt.error(format!("refused a redirect from HTTPS down to {to}"));
        }
        let is_ip = |u: &Url| {
            u.host_str()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
                .is_some_and(|h| h.parse::<std::net::IpAddr>().is_ok())
        };
        if is_ip(&to) && to.host_str() != first.host_str() {
            return attempt.error(format!("refused a redirect to the bare address {to}"));
        }
        attempt.follow()
    })
}

/// `Retry-After` as a delay: delta-seconds, or an HTTP date relative to `now` (seconds since the epoch).
pub(crate) fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    Some(Duration::from_secs(
        u64::try_from(at.saturating_sub(now)).unwrap_or(0),
    ))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn is_gzip_encoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
}

fn header_string(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

/// Decompresses a gzip stream, refusing to produce more than `max` bytes.
pub(crate) fn gunzip(bytes: &[u8], max: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot decompress: {e}"))?;
    if out.len() as u64 > max {
        return Err(format!(
            "decompresses to more than the {max}-byte limit; raise max_body_bytes"
        ));
    }
    Ok(out)
}

/// An error and its causes on one line: reqwest's own message hides the interesting part in the sources.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let msg = src.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = src.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (1..=8).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.backoff(200), p.max_delay);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = crate::time::parse_rfc3339("2025-08-25T12:00:00Z").unwrap_or_default();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Mon, 25 Aug 2025 12:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Mon, 25 Aug 2025 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn gunzip_caps_the_output() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        let _ = enc.write_all(&[b'a'; 10_000]);
        let gz = enc.finish().unwrap_or_default();
        assert_eq!(gunzip(&gz, 10_000).map(|v| v.len()), Ok(10_000));
        assert!(gunzip(&gz, 9_999).is_err());
        assert!(gunzip(&gz[..gz.len() / 2], 10_000).is_err());
    }
}
