//! The one error type of the crate; every variant names the URL or file involved.

use std::io;
use std::path::PathBuf;

/// What went wrong while updating the feeds. Messages are lowercase and name the URL or path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The HTTP client or its runtime could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// A configured or derived URL is not usable.
    #[error("bad feed URL {url}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered with a status that is not worth retrying (404, 401, ...).
    #[error("{url}: HTTP status {status}{detail}")]
    Status {
        /// The request URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The server's explanation (the NVD's `message` header), prefixed with ": ", or empty.
        detail: String,
    },
    /// Every attempt failed with a retryable problem (rate limited, 5xx, connection lost, cut-short or
    /// unparsable body).
    #[error(
        "{url}: {problem} (gave up after {attempts} attempts; run the update again later to resume)"
    )]
    GaveUp {
        /// The request URL.
        url: String,
        /// The last attempt's problem.
        problem: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The response can never be used, whatever the number of attempts (too large, wrong shape).
    #[error("{url}: {problem}")]
    BadResponse {
        /// The request URL.
        url: String,
        /// What is wrong with the response.
        problem: String,
    },
    /// Reading or writing a file under the destination folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The state file exists but cannot be read as one.
    #[error("state file {} is damaged: {reason}; delete it to download everything again", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// Another update holds the destination folder's lock.
    #[error("{} is locked by another update; wait for it to finish", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The caller asked the update to stop; what was completed is kept and the next run resumes.
    #[error("update cancelled; run it again to resume")]
    Cancelled,
}

impl FetchError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> FetchError {
        FetchError::Io {
            path: path.into(),
            source,
        }
    }
}
