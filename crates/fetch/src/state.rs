//! The state file (`state.json`) that makes updates resumable, and atomic file writes.
//!
//! Every file, the state included, is written to `NAME.tmp` and renamed over `NAME`, so an interrupted run
//! leaves either the old file or the new one, never half of one.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Feed, FetchError};

/// The state file's name inside the destination folder.
pub const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = ".lock";
const STATE_VERSION: u32 = 1;

/// What earlier updates completed, per feed. Kept in `dest_dir/state.json`; read it with [`load_state`]
/// (for `kb status`), never write it by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct State {
    /// Format version of the file.
    #[serde(default)]
    pub version: u32,
    /// NVD CVE API progress.
    #[serde(default)]
    pub nvd: NvdState,
    /// The KEV catalogue's validators.
    #[serde(default)]
    pub kev: FileState,
    /// The EPSS file's validators.
    #[serde(default)]
    pub epss: FileState,
    /// CSAF advisories fetched.
    #[serde(default)]
    pub csaf: CsafState,
    /// Files written by runs that were interrupted before they could report them; the next [`crate::update`]
    /// reports them again so that no download is left unimported.
    #[serde(default)]
    pub pending: Vec<PendingFile>,
}

/// NVD progress: the watermark of the last completed window, and the window under way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NvdState {
    /// Every change up to this time (RFC 3339, UTC) is downloaded; the next update asks for changes since.
    pub watermark: Option<String>,
    /// The query window being paged through, if an update stopped inside one.
    pub in_progress: Option<NvdWindow>,
}

/// One NVD query: all records (no `start`) or those last modified in `start..end`, paged by `startIndex`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NvdWindow {
    /// `lastModStartDate` (RFC 3339, UTC); `None` for a full download.
    pub start: Option<String>,
    /// `lastModEndDate` (RFC 3339, UTC); for a full download, when it began.
    pub end: String,
    /// The `startIndex` of the next page to fetch.
    pub next_start_index: u64,
    /// `totalResults` as last reported by the API.
    pub total_results: Option<u64>,
    /// The folder under `nvd/` that holds this window's pages.
    pub dir: String,
}

/// Validators of a single-file feed (KEV, EPSS) for conditional requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileState {
    /// The `ETag` of the last download, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The `Last-Modified` of the last download, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// The file written, relative to the destination folder.
    pub file: Option<String>,
    /// The date of the data (KEV `dateReleased`, EPSS `score_date`), when the feed says.
    pub date: Option<String>,
    /// When it was last downloaded (RFC 3339, UTC).
    pub fetched_at: Option<String>,
}

/// CSAF advisories already fetched: URL to the timestamp the provider listed for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CsafState {
    /// Advisory URL to its `changes.csv` (or ROLIE `updated`) timestamp when fetched.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// A file written but not yet reported to a caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    /// The feed it belongs to.
    pub feed: Feed,
    /// Its path relative to the destination folder.
    pub path: String,
}

/// Reads `dest_dir/state.json`; a missing file is an empty state.
pub fn load_state(dest_dir: &Path) -> Result<State, FetchError> {
    let path = dest_dir.join(STATE_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(State {
                version: STATE_VERSION,
                ..State::default()
            });
        }
        Err(e) => return Err(FetchError::io(path, e)),
    };
    let state: State = serde_json::from_slice(&bytes).map_err(|e| FetchError::State {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if state.version > STATE_VERSION {
        return Err(FetchError::State {
            path,
            reason: format!(
                "written by a newer medsentry (format {}, this one reads {STATE_VERSION})",
                state.version
            ),
        });
    }
    Ok(state)
}

pub(crate) fn save_state(dest_dir: &Path, state: &State) -> Result<(), FetchError> {
    let path = dest_dir.join(STATE_FILE);
    let mut state = state.clone();
    state.version = STATE_VERSION;
    let bytes = serde_json::to_vec_pretty(&state).map_err(|e| FetchError::State {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    write_atomic(&path, &bytes)
}

/// Writes `bytes` to `path` through `path.tmp` and a rename, creating the parent folder.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| FetchError::io(parent, e))?;
    }
    let tmp = tmp_path(path);
    let res = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        // Best effort: the error that matters is the write's.
        let _ = fs::remove_file(&tmp);
        return Err(FetchError::io(&tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| FetchError::io(path, e))
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Removes `*.tmp` files left by a run that was killed while writing, down to `depth` folder levels.
pub(crate) fn remove_stale_tmp(dir: &Path, depth: u32) -> Result<(), FetchError> {
    let entries = match fs::read_dir(dir) {
        Ok(it) => it,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FetchError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| FetchError::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| FetchError::io(&path, e))?;
        if kind.is_dir() && depth > 0 {
            remove_stale_tmp(&path, depth - 1)?;
        } else if kind.is_file() && path.extension().is_some_and(|x| x == "tmp") {
            fs::remove_file(&path).map_err(|e| FetchError::io(&path, e))?;
        }
    }
    Ok(())
}

/// An exclusive lock on the destination folder, released on drop (and by the OS if the process dies).
pub(crate) struct DirLock {
    _file: fs::File,
}

impl DirLock {
    pub(crate) fn acquire(dest_dir: &Path) -> Result<DirLock, FetchError> {
        fs::create_dir_all(dest_dir).map_err(|e| FetchError::io(dest_dir, e))?;
        let path = dest_dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| FetchError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(FetchError::Busy { path }),
            Err(fs::TryLockError::Error(e)) => Err(FetchError::io(path, e)),
        }
    }
}
