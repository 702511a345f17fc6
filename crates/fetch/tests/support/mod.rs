//! Test support: a tiny HTTP/1.1 server on 127.0.0.1 that answers from a closure and records every
//! request, a fake clock that never waits, and builders for NVD-shaped responses.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fetch::{Clock, Event, Feed, RetryPolicy, Sources, UpdateOptions};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded.
    pub fn query(&self, key: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == key).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A canned response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send only this many bytes of the body (with the full Content-Length), then close.
    pub cut_at: Option<usize>,
}

impl Response {
    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            cut_at: None,
        }
    }

    pub fn json(v: &serde_json::Value) -> Response {
        Response::ok(v.to_string()).header("Content-Type", "application/json")
    }

    pub fn status(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            cut_at: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn cut_at(mut self, n: usize) -> Response {
        self.cut_at = Some(n);
        self
    }
}

type Handler = Box<dyn FnMut(&Request) -> Response + Send>;

/// The server. It stops when dropped.
pub struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: impl FnMut(&Request) -> Response + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut handler: Handler = Box::new(handler);
        let thread = {
            let log = Arc::clone(&log);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    serve(conn, &mut handler, &log);
                }
            })
        };
        Server {
            addr,
            log,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() == path)
            .collect()
    }

    pub fn clear_log(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves one request on a connection, then closes it (`Connection: close`).
fn serve(conn: TcpStream, handler: &mut Handler, log: &Mutex<Vec<Request>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&conn);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (Some(_method), Some(target)) = (parts.next(), parts.next()) else {
        return;
    };
    let target = target.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let req = Request { target, headers };
    if let Ok(mut l) = log.lock() {
        l.push(req.clone());
    }
    let resp = handler(&req);
    let mut out = Vec::new();
    let _ = write!(out, "HTTP/1.1 {} X\r\n", resp.status);
    let has_length = resp
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    for (k, v) in &resp.headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    if !has_length && resp.status != 304 {
        let _ = write!(out, "Content-Length: {}\r\n", resp.body.len());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    let body = match resp.cut_at {
        Some(n) => &resp.body[..n.min(resp.body.len())],
        None => &resp.body[..],
    };
    if resp.status != 304 {
        out.extend_from_slice(body);
    }
    let mut conn = conn;
    let _ = conn.write_all(&out);
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
    // Drain anything left so the close is clean.
    let _ = (&conn).read(&mut [0u8; 64]);
}

/// 2025-08-25T12:00:00Z, the fake wall clock's start.
pub const T0: u64 = 1_756_123_200;

/// A clock that advances only when slept on, and remembers every sleep.
#[derive(Debug, Default)]
pub struct FakeClock {
    pub now: Duration,
    pub sleeps: Vec<Duration>,
    /// Added to the wall clock (to pretend days have passed).
    pub wall_offset: Duration,
}

impl FakeClock {
    pub fn new() -> FakeClock {
        FakeClock::default()
    }

    pub fn wall_secs(&self) -> u64 {
        T0 + self.now.as_secs() + self.wall_offset.as_secs()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.now
    }

    fn wall(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(T0) + self.now + self.wall_offset
    }

    fn sleep(&mut self, d: Duration) {
        self.sleeps.push(d);
        self.now += d;
    }
}

/// Options pointing every feed at `server`, with only `feeds` enabled.
pub fn options(server: &Server, feeds: &[Feed]) -> UpdateOptions {
    UpdateOptions {
        sources: Sources {
            nvd: server.url("/rest/json/cves/2.0"),
            kev: server.url("/feeds/known_exploited_vulnerabilities.json"),
            epss: server.url("/epss_scores-current.csv.gz"),
            csaf_provider_metadata: server.url("/.well-known/csaf/provider-metadata.json"),
            csaf_directory: None,
        },
        feeds: feeds.to_vec(),
        retry: RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        },
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        ..UpdateOptions::default()
    }
}

/// A fresh, empty destination folder under the target directory, removed on drop.
pub struct Dest {
    pub dir: PathBuf,
}

impl Dest {
    pub fn new(name: &str) -> Dest {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fetch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test folder");
        Dest { dir }
    }
}

impl Drop for Dest {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// An NVD API 2.0 response holding records `start..start+count` of `total` synthetic CVEs.
pub fn nvd_page(start: u64, per_page: u64, total: u64) -> serde_json::Value {
    let end = total.min(start + per_page);
    let vulns: Vec<serde_json::Value> = (start..end)
        .map(|i| serde_json::json!({"cve": {"id": format!("CVE-2025-{:05}", i + 1)}}))
        .collect();
    serde_json::json!({
        "resultsPerPage": vulns.len(),
        "startIndex": start,
        "totalResults": total,
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2025-08-25T12:00:00.000",
        "vulnerabilities": vulns,
    })
}

/// Answers an NVD request from `nvd_page`, using its `startIndex` and `resultsPerPage`.
pub fn nvd_answer(req: &Request, total: u64) -> Response {
    let start = req
        .query("startIndex")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let per_page = req
        .query("resultsPerPage")
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    Response::json(&nvd_page(start, per_page, total))
}

/// Records progress events.
pub fn collect(events: &mut Vec<Event>) -> impl FnMut(Event) + '_ {
    move |e| events.push(e)
}

/// The CVE ids in NVD page files.
pub fn cve_ids(files: &[PathBuf]) -> Vec<String> {
    let mut ids = Vec::new();
    for f in files {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f).expect("read page")).expect("page is JSON");
        for item in v["vulnerabilities"].as_array().into_iter().flatten() {
            ids.push(item["cve"]["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    ids.sort();
    ids
}
