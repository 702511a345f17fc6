//! Downloads the vulnerability feeds for `medsentry kb update`: NVD CVE API 2.0, the CISA KEV catalogue,
//! the EPSS daily scores and CISA's CSAF advisories, into files the knowledge importers read.
//!
//! [`update`] writes each document atomically under a destination folder and keeps `state.json` beside
//! them, saved after every completed unit (an NVD page, a CSAF advisory, a feed file), so an interrupted run
//! resumes where it stopped and an up-to-date feed downloads nothing:
//!
//! ```text
//! dest_dir/
//!   state.json                                  what is done (see State)
//!   nvd/<window>/page-<startIndex>.json         one NVD API response per page, as served
//!   kev/known_exploited_vulnerabilities.json    the KEV catalogue
//!   epss/epss_scores-YYYY-MM-DD.csv             EPSS scores, decompressed
//!   csaf/<advisory>.json                        one CSAF 2.0 document per advisory
//! ```
//!
//! `<window>` is `full-<end>` for a first, complete download and `<start>--<end>` for an incremental one
//! (times as `20250825T120000Z`). The [`Summary`] lists the files that are new or changed, for the caller
//! to import; files that an interrupted earlier run wrote are listed by the next run that finishes.
//!
//! This crate only downloads; it knows nothing of the importers, and it sends requests only to the
//! configured feed URLs (and, for CSAF, to advisories under the provider's own origin). TLS is rustls on
//! the `ring` provider: call [`install_crypto_provider`] first in `main` (the update also does so).

#![forbid(unsafe_code)]

mod clock;
mod csaf;
mod error;
mod http;
mod kev_epss;
mod nvd;
mod state;
mod time;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub use clock::{Clock, RateLimit, RateLimiter, SystemClock};
pub use error::FetchError;
pub use http::RetryPolicy;
pub use state::{
    CsafState, FileState, NvdState, NvdWindow, PendingFile, STATE_FILE, State, load_state,
};

use crate::http::Http;

/// The official feed URLs.
pub mod defaults {
    /// NVD CVE API 2.0.
    pub const NVD: &str = "https://services.nvd.nist.gov/rest/json/cves/2.0";
    /// CISA Known Exploited Vulnerabilities catalogue (JSON).
    pub const KEV: &str =
        "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
    /// FIRST/Empirical Security EPSS scores of the day, gzipped CSV (formerly on epss.cyentia.com).
    pub const EPSS: &str = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz";
    /// CISA's CSAF 2.0 provider metadata, at the well-known place of CSAF 2.0 §7.1.
    pub const CSAF_PROVIDER_METADATA: &str =
        "https://www.cisa.gov/.well-known/csaf/provider-metadata.json";
}

/// Where each feed is downloaded from. The defaults are the official sources; tests and mirrors override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The NVD CVE API 2.0 endpoint.
    pub nvd: String,
    /// The KEV catalogue in JSON.
    pub kev: String,
    /// The EPSS `epss_scores-current.csv.gz` file (plain CSV is accepted too).
    pub epss: String,
    /// The CSAF provider's `provider-metadata.json`; its distributions name the advisory directories.
    pub csaf_provider_metadata: String,
    /// A CSAF directory (holding `changes.csv`) to read instead of discovering them from the metadata.
    pub csaf_directory: Option<String>,
}

impl Default for Sources {
    fn default() -> Sources {
        Sources {
            nvd: defaults::NVD.to_owned(),
            kev: defaults::KEV.to_owned(),
            epss: defaults::EPSS.to_owned(),
            csaf_provider_metadata: defaults::CSAF_PROVIDER_METADATA.to_owned(),
            csaf_directory: None,
        }
    }
}

/// One vulnerability feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    /// NVD CVE records (API 2.0).
    Nvd,
    /// CISA Known Exploited Vulnerabilities.
    Kev,
    /// EPSS exploit prediction scores.
    Epss,
    /// CISA CSAF 2.0 advisories.
    Csaf,
}

impl Feed {
    /// Every feed, in the order [`update`] fetches them.
    pub const ALL: [Feed; 4] = [Feed::Kev, Feed::Epss, Feed::Csaf, Feed::Nvd];

    /// The feed's short name, as in the state file and the folder names (`nvd`, `kev`, `epss`, `csaf`).
    pub fn name(self) -> &'static str {
        match self {
            Feed::Nvd => "nvd",
            Feed::Kev => "kev",
            Feed::Epss => "epss",
            Feed::Csaf => "csaf",
        }
    }
}

impl fmt::Display for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which CSAF advisories to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsafScope {
    /// Medical advisories only (file names starting with `icsma-`).
    #[default]
    Medical,
    /// Every advisory the provider lists.
    All,
}

/// How to run an update.
#[derive(Clone)]
pub struct UpdateOptions {
    /// Where to download from.
    pub sources: Sources,
    /// The feeds to update (default: all).
    pub feeds: Vec<Feed>,
    /// An NVD API key: sent as the `apiKey` header and allows 50 requests per 30 s instead of 5.
    pub nvd_api_key: Option<String>,
    /// Ask the NVD for changes since this time instead of resuming from the state file (which, on a first
    /// run, means a full download).
    pub since: Option<SystemTime>,
    /// NVD `resultsPerPage` (1 to 2,000, the API's maximum and the default).
    pub nvd_page_size: u32,
    /// Overrides the NVD rate limit (default: the published one for with or without a key).
    pub nvd_rate_limit: Option<RateLimit>,
    /// Which CSAF advisories to fetch.
    pub csaf_scope: CsafScope,
    /// Retries and back-off.
    pub retry: RetryPolicy,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed between two reads of a response.
    pub read_timeout: Duration,
    /// The largest body accepted, before and after decompression.
    pub max_body_bytes: u64,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Set it to stop the update at the next request; completed work is kept and the next run resumes.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for UpdateOptions {
    fn default() -> UpdateOptions {
        UpdateOptions {
            sources: Sources::default(),
            feeds: Feed::ALL.to_vec(),
            nvd_api_key: None,
            since: None,
            nvd_page_size: nvd::MAX_PAGE_SIZE,
            nvd_rate_limit: None,
            csaf_scope: CsafScope::Medical,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            max_body_bytes: 512 << 20,
            user_agent: concat!("medsentry/", env!("CARGO_PKG_VERSION")).to_owned(),
            cancel: None,
        }
    }
}

impl fmt::Debug for UpdateOptions {
    // By hand, so that the API key never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateOptions")
            .field("sources", &self.sources)
            .field("feeds", &self.feeds)
            .field(
                "nvd_api_key",
                &self.nvd_api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("since", &self.since)
            .field("nvd_page_size", &self.nvd_page_size)
            .field("nvd_rate_limit", &self.nvd_rate_limit)
            .field("csaf_scope", &self.csaf_scope)
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// Progress of an update, for a progress bar or a log. The API key never appears in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A feed's update begins.
    FeedStarted {
        /// The feed.
        feed: Feed,
    },
    /// A request is about to be sent.
    Request {
        /// The feed.
        feed: Feed,
        /// The URL.
        url: String,
    },
    /// Waiting for the rate limit.
    RateLimited {
        /// The feed.
        feed: Feed,
        /// How long.
        delay: Duration,
    },
    /// An attempt failed and will be retried after `delay`.
    Retrying {
        /// The feed.
        feed: Feed,
        /// The URL.
        url: String,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// What went wrong.
        problem: String,
    },
    /// The server said our copy is current (304).
    NotModified {
        /// The feed.
        feed: Feed,
    },
    /// A downloaded file is byte for byte the one we have; it is not reported as changed.
    Unchanged {
        /// The feed.
        feed: Feed,
        /// The file.
        path: PathBuf,
    },
    /// A file was written.
    Written {
        /// The feed.
        feed: Feed,
        /// The file.
        path: PathBuf,
    },
    /// An NVD page was fetched.
    NvdPage {
        /// Records fetched in the current query window so far.
        done: u64,
        /// The window's `totalResults`.
        total: u64,
    },
    /// An entry of a listing was not fetched (outside the provider's origin, unusable name, ...).
    Skipped {
        /// The feed.
        feed: Feed,
        /// The entry.
        entry: String,
        /// Why.
        reason: String,
    },
    /// A feed's update ended; `files` new or changed files.
    FeedDone {
        /// The feed.
        feed: Feed,
        /// Files written for it in this run.
        files: usize,
    },
    /// A feed's update failed (the other feeds go on).
    FeedFailed {
        /// The feed.
        feed: Feed,
        /// The error's message.
        error: String,
    },
}

/// What an update produced.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Summary {
    /// New NVD pages.
    pub nvd: Vec<PathBuf>,
    /// The KEV catalogue, when it changed.
    pub kev: Vec<PathBuf>,
    /// The EPSS file, when it changed.
    pub epss: Vec<PathBuf>,
    /// New or changed CSAF advisories.
    pub csaf: Vec<PathBuf>,
    /// What failed; the other feeds (and, for CSAF, the other advisories) were still updated.
    pub failures: Vec<FeedFailure>,
}

impl Summary {
    /// The new or changed files of one feed.
    pub fn files(&self, feed: Feed) -> &[PathBuf] {
        match feed {
            Feed::Nvd => &self.nvd,
            Feed::Kev => &self.kev,
            Feed::Epss => &self.epss,
            Feed::Csaf => &self.csaf,
        }
    }

    /// Whether nothing failed.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }

    fn files_mut(&mut self, feed: Feed) -> &mut Vec<PathBuf> {
        match feed {
            Feed::Nvd => &mut self.nvd,
            Feed::Kev => &mut self.kev,
            Feed::Epss => &mut self.epss,
            Feed::Csaf => &mut self.csaf,
        }
    }
}

/// A failure within one feed.
#[derive(Debug)]
pub struct FeedFailure {
    /// The feed.
    pub feed: Feed,
    /// What went wrong.
    pub error: FetchError,
}

/// Installs rustls' `ring` crypto provider as the process default. Idempotent: when a provider is already
/// installed (by an earlier call or by the binary), it is kept.
pub fn install_crypto_provider() {
    // An error only says that a default is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Parses a `--since` value: a date (`2025-08-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_since(s: &str) -> Option<SystemTime> {
    time::parse_rfc3339(s).map(time::system_time)
}

/// Updates the feeds in `opts.feeds` into `dest_dir`, with the real clock. See [`update_with_clock`].
pub fn update(
    dest_dir: &Path,
    opts: &UpdateOptions,
    progress: &mut dyn FnMut(Event),
) -> Result<Summary, FetchError> {
    update_with_clock(dest_dir, opts, &mut SystemClock::new(), progress)
}

/// Updates the feeds in `opts.feeds` into `dest_dir`, reading time from `clock`.
///
/// A feed that fails is reported in [`Summary::failures`] and the others go on. `Err` means the run could
/// not go on at all: the folder or its state file is unusable, another update holds it, or `opts.cancel`
/// was set. Whatever was completed before is kept, and the next run resumes from there.
pub fn update_with_clock(
    dest_dir: &Path,
    opts: &UpdateOptions,
    clock: &mut dyn Clock,
    progress: &mut dyn FnMut(Event),
) -> Result<Summary, FetchError> {
    let _lock = state::DirLock::acquire(dest_dir)?;
    state::remove_stale_tmp(dest_dir, 3)?;
    let state = load_state(dest_dir)?;
    let http = Http::new(opts)?;
    let mut run = Run {
        dest: dest_dir,
        opts,
        http,
        state,
        ctx: Ctx {
            clock,
            progress,
            cancel: opts.cancel.as_deref(),
        },
        failures: Vec::new(),
    };
    let mut feeds: Vec<Feed> = Vec::with_capacity(opts.feeds.len());
    for &feed in &opts.feeds {
        if !feeds.contains(&feed) {
            feeds.push(feed);
        }
    }
    for feed in feeds {
        (run.ctx.progress)(Event::FeedStarted { feed });
        let before = run.state.pending.len();
        let res = match feed {
            Feed::Nvd => nvd::update(&mut run),
            Feed::Kev => kev_epss::update_kev(&mut run),
            Feed::Epss => kev_epss::update_epss(&mut run),
            Feed::Csaf => csaf::update(&mut run),
        };
        match res {
            Ok(()) => {}
            Err(e @ (FetchError::Cancelled | FetchError::Io { .. } | FetchError::State { .. })) => {
                return Err(e);
            }
            Err(error) => {
                (run.ctx.progress)(Event::FeedFailed {
                    feed,
                    error: error.to_string(),
                });
                run.failures.push(FeedFailure { feed, error });
            }
        }
        let files = run.state.pending.len().saturating_sub(before);
        (run.ctx.progress)(Event::FeedDone { feed, files });
    }
    // Hand every written file over, also those of interrupted earlier runs, and only then forget them.
    let mut summary = Summary {
        failures: std::mem::take(&mut run.failures),
        ..Summary::default()
    };
    for p in std::mem::take(&mut run.state.pending) {
        summary.files_mut(p.feed).push(dest_dir.join(&p.path));
    }
    run.save()?;
    Ok(summary)
}

/// Clock, progress sink and cancellation flag, passed down to every request.
pub(crate) struct Ctx<'a> {
    pub(crate) clock: &'a mut dyn Clock,
    pub(crate) progress: &'a mut dyn FnMut(Event),
    cancel: Option<&'a AtomicBool>,
}

impl Ctx<'_> {
    pub(crate) fn check_cancelled(&self) -> Result<(), FetchError> {
        match self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(FetchError::Cancelled),
            _ => Ok(()),
        }
    }
}

/// One update in progress: what every feed module works with.
pub(crate) struct Run<'a> {
    pub(crate) dest: &'a Path,
    pub(crate) opts: &'a UpdateOptions,
    pub(crate) http: Http,
    pub(crate) state: State,
    pub(crate) ctx: Ctx<'a>,
    pub(crate) failures: Vec<FeedFailure>,
}

impl Run<'_> {
    /// Writes a downloaded file atomically and queues it for the summary (the caller saves the state).
    pub(crate) fn write(&mut self, feed: Feed, rel: &str, bytes: &[u8]) -> Result<(), FetchError> {
        let path = self.dest.join(rel);
        state::write_atomic(&path, bytes)?;
        if !self.state.pending.iter().any(|p| p.path == rel) {
            self.state.pending.push(PendingFile {
                feed,
                path: rel.to_owned(),
            });
        }
        (self.ctx.progress)(Event::Written { feed, path });
        Ok(())
    }

    /// Saves the state file.
    pub(crate) fn save(&self) -> Result<(), FetchError> {
        state::save_state(self.dest, &self.state)
    }

    /// The wall clock in seconds since the epoch.
    pub(crate) fn now(&self) -> i64 {
        time::unix(self.ctx.clock.wall())
    }
}
