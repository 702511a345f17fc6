//! Cleartext logins: telnet (user name and password prompts), FTP `USER`/`PASS` and HTTP
//! `Authorization: Basic`. The user name is kept; a password is only ever noted as seen, never stored.

use std::collections::VecDeque;

use capture::{Direction, Timestamp};

/// Longest user name kept; longer ones are cut (a user name is not a place for bulk data).
const MAX_USERNAME: usize = 128;
/// Longest line or HTTP head buffered while looking for a login.
const MAX_LINE: usize = 1024;
const MAX_HTTP_HEAD: usize = 16 * 1024;

/// Whether a login worked, as the server's next answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Accepted,
    Rejected,
    Unknown,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Accepted => "accepted",
            LoginOutcome::Rejected => "rejected",
            LoginOutcome::Unknown => "unknown",
        }
    }
}

/// A credential seen in cleartext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// "telnet", "ftp", "http-basic" or "dicom".
    pub protocol: &'static str,
    pub username: String,
    /// A password (or passcode) went over the wire with it. Its value is never kept.
    pub password_seen: bool,
    pub outcome: LoginOutcome,
    pub ts: Timestamp,
}

fn username(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_USERNAME)];
    String::from_utf8_lossy(cut).trim().to_string()
}

/// Accumulates one line of a direction, capped.
#[derive(Debug, Default)]
struct LineBuffer {
    line: Vec<u8>,
}

impl LineBuffer {
    /// Adds bytes; calls `on_line` for each complete line (without its CR/LF).
    fn push(&mut self, bytes: &[u8], on_line: &mut dyn FnMut(&[u8])) {
        for &b in bytes {
            match b {
                b'\r' | b'\n' | 0 if !self.line.is_empty() => {
                    on_line(&self.line);
                    self.line.clear();
                }
                b'\r' | b'\n' | 0 => {}
                _ if self.line.len() < MAX_LINE => self.line.push(b),
                _ => {}
            }
        }
    }

    fn clear(&mut self) {
        self.line.clear();
    }
}

/// Telnet logins, from the server's prompts and the client's answers.
#[derive(Debug, Default)]
pub struct TelnetLogin {
    /// Server output since the last client line, lowercased and stripped of option negotiation (tail).
    server_tail: Vec<u8>,
    client: LineBuffer,
    /// Inside an IAC sequence, per direction.
    iac: [IacState; 2],
    awaiting: Awaiting,
    user: Option<String>,
    /// The attempt waiting for the server's verdict.
    pending: Option<Credential>,
    pub credentials: Vec<Credential>,
    /// What the server printed before its first prompt (as sent, option negotiation removed), until
    /// the banner is taken or the client first answers.
    banner_text: Vec<u8>,
    banner_done: bool,
    /// The server's greeting and first prompt, one line (`Ubuntu 22.04.3 LTS / gw01 login:`): it
    /// names the OS or firmware and often the host.
    pub banner: Option<String>,
}

/// Longest telnet greeting kept (bytes of server output before the first prompt).
const MAX_BANNER: usize = 512;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    #[default]
    Nothing,
    User,
    Password,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum IacState {
    #[default]
    Data,
    Iac,
    Option,
    Sub,
    SubIac,
}

/// Removes telnet commands (IAC ...), keeping data bytes.
fn strip_iac(state: &mut IacState, bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        *state = match (*state, b) {
            (IacState::Data, 0xff) => IacState::Iac,
            (IacState::Data, _) => {
                out.push(b);
                IacState::Data
            }
            (IacState::Iac, 0xff) => {
                out.push(0xff);
                IacState::Data
            }
            (IacState::Iac, 251..=254) => IacState::Option,
            (IacState::Iac, 250) => IacState::Sub,
            (IacState::Iac, _) | (IacState::Option, _) => IacState::Data,
            (IacState::Sub, 0xff) => IacState::SubIac,
            (IacState::Sub, _) => IacState::Sub,
            (IacState::SubIac, 240) => IacState::Data,
            (IacState::SubIac, _) => IacState::Sub,
        };
    }
}

impl TelnetLogin {
    pub fn data(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        let mut text = Vec::with_capacity(bytes.len());
        strip_iac(&mut self.iac[dir.index()], bytes, &mut text);
        match dir {
            Direction::ToClient => self.server_output(ts, &text),
            Direction::ToServer => {
                let mut lines = Vec::new();
                self.client.push(&text, &mut |l| lines.push(l.to_vec()));
                for line in lines {
                    self.client_line(ts, &line);
                }
            }
        }
    }

    /// Bytes lost: the line being read is unreliable.
    pub fn gap(&mut self, dir: Direction) {
        match dir {
            Direction::ToServer => self.client.clear(),
            Direction::ToClient => self.server_tail.clear(),
        }
    }

    pub fn close(&mut self) {
        if let Some(c) = self.pending.take() {
            self.credentials.push(c);
        }
    }

    fn server_output(&mut self, _ts: Timestamp, text: &[u8]) {
        if !self.banner_done {
            let room = MAX_BANNER.saturating_sub(self.banner_text.len());
            self.banner_text.extend(&text[..text.len().min(room)]);
        }
        self.server_tail
            .extend(text.iter().map(u8::to_ascii_lowercase));
        if self.server_tail.len() > MAX_LINE {
            let cut = self.server_tail.len() - MAX_LINE;
            self.server_tail.drain(..cut);
        }
        let tail = &self.server_tail;
        if let Some(mut c) = self.pending.take() {
            // A failure says so, or asks for the login again ("Last login: ..." on success is not a
            // prompt: only a tail that ends with the prompt counts).
            let failed = [&b"incorrect"[..], b"failed", b"denied", b"invalid"]
                .iter()
                .any(|w| contains(tail, w))
                || trim_end(tail).ends_with(b"login:");
            if failed {
                c.outcome = LoginOutcome::Rejected;
                self.credentials.push(c);
            } else if tail.iter().any(|c| !c.is_ascii_whitespace()) {
                c.outcome = LoginOutcome::Accepted;
                self.credentials.push(c);
            } else {
                self.pending = Some(c);
            }
        }
        let trimmed = trim_end(tail);
        if ends_with_any(
            trimmed,
            &[
                b"login:",
                b"username:",
                b"user name:",
                b"login as:",
                b"user:",
            ],
        ) {
            self.awaiting = Awaiting::User;
            self.take_banner();
        } else if ends_with_any(trimmed, &[b"password:", b"passcode:"]) {
            self.awaiting = Awaiting::Password;
            self.take_banner();
        }
    }

    /// The greeting up to the first prompt, as one line of printable text (at most 160 characters).
    fn take_banner(&mut self) {
        if self.banner_done {
            return;
        }
        self.banner_done = true;
        let text = String::from_utf8_lossy(&self.banner_text);
        let lines: Vec<&str> = text
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let line: String = lines
            .join(" / ")
            .chars()
            .filter(|c| !c.is_control())
            .take(160)
            .collect();
        if !line.is_empty() {
            self.banner = Some(line);
        }
        self.banner_text = Vec::new();
    }

    fn client_line(&mut self, ts: Timestamp, line: &[u8]) {
        // The client answered before any prompt we know: whatever came first is no banner.
        if !self.banner_done {
            self.banner_done = true;
            self.banner_text = Vec::new();
        }
        match self.awaiting {
            Awaiting::User => self.user = Some(username(line)),
            Awaiting::Password => {
                if let Some(c) = self.pending.take() {
                    self.credentials.push(c);
                }
                self.pending = Some(Credential {
                    protocol: "telnet",
                    username: self.user.take().unwrap_or_default(),
                    password_seen: !line.is_empty(),
                    outcome: LoginOutcome::Unknown,
                    ts,
                });
            }
            Awaiting::Nothing => {}
        }
        self.awaiting = Awaiting::Nothing;
        self.server_tail.clear();
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn trim_end(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &b[..end]
}

fn ends_with_any(b: &[u8], words: &[&[u8]]) -> bool {
    words.iter().any(|w| b.ends_with(w))
}

/// FTP control connection: `USER`, `PASS`, and the 230/530 replies.
#[derive(Debug, Default)]
pub struct FtpLogin {
    lines: [LineBuffer; 2],
    user: Option<String>,
    pending: Option<Credential>,
    /// `AUTH TLS` was accepted: what follows is encrypted.
    pub tls_upgraded: bool,
    pub credentials: Vec<Credential>,
    /// The server's 220 greeting text (it often names the device's FTP daemon and version).
    pub banner: Option<String>,
}

impl FtpLogin {
    pub fn data(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        if self.tls_upgraded {
            return;
        }
        let mut lines = Vec::new();
        self.lines[dir.index()].push(bytes, &mut |l| lines.push(l.to_vec()));
        for line in lines {
            match dir {
                Direction::ToServer => self.command(ts, &line),
                Direction::ToClient => self.reply(&line),
            }
        }
    }

    pub fn gap(&mut self, dir: Direction) {
        self.lines[dir.index()].clear();
    }

    pub fn close(&mut self) {
        if let Some(c) = self.pending.take() {
            self.credentials.push(c);
        }
    }

    fn command(&mut self, ts: Timestamp, line: &[u8]) {
        let upper: Vec<u8> = line.iter().take(5).map(u8::to_ascii_uppercase).collect();
        if upper.starts_with(b"USER ") {
            self.user = Some(username(&line[5..]));
        } else if upper.starts_with(b"PASS") {
            if let Some(c) = self.pending.take() {
                self.credentials.push(c);
            }
            self.pending = Some(Credential {
                protocol: "ftp",
                username: self.user.take().unwrap_or_default(),
                password_seen: line.len() > 5,
                outcome: LoginOutcome::Unknown,
                ts,
            });
        }
    }

    fn reply(&mut self, line: &[u8]) {
        let code = line.get(..3).unwrap_or_default();
        if code == b"220" && self.banner.is_none() {
            let text = String::from_utf8_lossy(line.get(4..).unwrap_or_default());
            self.banner = Some(text.trim().chars().take(120).collect());
        }
        if code == b"234" {
            self.tls_upgraded = true;
        }
        let outcome = match code {
            b"230" => LoginOutcome::Accepted,
            b"530" => LoginOutcome::Rejected,
            _ => return,
        };
        if let Some(mut c) = self.pending.take() {
            c.outcome = outcome;
            self.credentials.push(c);
        }
    }
}

/// HTTP/1.x heads in both directions: requests, responses, `Authorization: Basic` user names and
/// whether the server took them.
#[derive(Debug, Default)]
pub struct HttpExchange {
    heads: [HeadReader; 2],
    /// Requests waiting for their response, in order: the index of their credential, if any.
    waiting: VecDeque<Option<usize>>,
    pub requests: u64,
    pub responses: u64,
    pub credentials: Vec<Credential>,
    /// The `Server` header of the first response (software identity for the inventory).
    pub server: Option<String>,
    /// The `User-Agent` of the first request.
    pub user_agent: Option<String>,
    /// The `Host` of the first request: the name the client knows the server by.
    pub host: Option<String>,
    /// The `<title>` of the first HTML page served (device web interfaces name the product there).
    pub title: Option<String>,
    /// The start of response bodies, searched for a title (at most [`TITLE_SCAN`] bytes).
    body_head: Vec<u8>,
    /// NTLMSSP messages of Windows authentication to the site (`Authorization: NTLM` or
    /// `Negotiate`, and the server's `WWW-Authenticate` challenge), with who sent them: each
    /// carries its sender's Windows version, a challenge the server's names. At most
    /// [`MAX_NTLM`].
    pub ntlm: Vec<(Direction, crate::ntlm::Message)>,
}

/// NTLMSSP messages kept from one HTTP connection (a handshake is three).
const MAX_NTLM: usize = 4;

/// Bytes of response bodies searched for a `<title>`.
const TITLE_SCAN: usize = 2048;

/// The text of the first `<title>` element in `html`, if it is complete there.
fn html_title(html: &[u8]) -> Option<String> {
    let lower: Vec<u8> = html.iter().map(u8::to_ascii_lowercase).collect();
    let open = find(&lower, b"<title")?;
    let start = open + find(&lower[open..], b">")? + 1;
    let end = start + find(&lower[start..], b"</title")?;
    let text = String::from_utf8_lossy(&html[start..end]);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then(|| text.chars().take(120).collect())
}

#[derive(Debug, Default)]
struct HeadReader {
    head: Vec<u8>,
    body_left: u64,
    /// Lost track (chunked body, gap inside a body, oversized head): stop reading this direction.
    lost: bool,
}

impl HttpExchange {
    pub fn data(&mut self, dir: Direction, ts: Timestamp, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.heads[dir.index()].lost {
            let reader = &mut self.heads[dir.index()];
            if reader.body_left > 0 {
                let n = (reader.body_left.min(bytes.len() as u64)) as usize;
                reader.body_left -= n as u64;
                if dir == Direction::ToClient
                    && self.title.is_none()
                    && self.body_head.len() < TITLE_SCAN
                {
                    let room = TITLE_SCAN - self.body_head.len();
                    self.body_head.extend_from_slice(&bytes[..n.min(room)]);
                    self.title = html_title(&self.body_head);
                    if reader.body_left == 0 {
                        self.body_head.clear();
                    }
                }
                bytes = &bytes[n..];
                continue;
            }
            let before = reader.head.len();
            let take = bytes.len().min(MAX_HTTP_HEAD.saturating_sub(before) + 4);
            reader.head.extend_from_slice(&bytes[..take]);
            // Look for the blank line, starting a little before the new bytes.
            let from = before.saturating_sub(3);
            match find(&reader.head[from..], b"\r\n\r\n") {
                Some(at) => {
                    let end = from + at + 4;
                    let used = end - before;
                    let head = std::mem::take(&mut reader.head);
                    bytes = &bytes[used..];
                    self.head(dir, ts, &head[..end]);
                }
                None => {
                    if reader.head.len() > MAX_HTTP_HEAD {
                        reader.lost = true;
                    }
                    bytes = &bytes[take..];
                }
            }
        }
    }

    pub fn gap(&mut self, dir: Direction) {
        self.heads[dir.index()].lost = true;
    }

    fn head(&mut self, dir: Direction, ts: Timestamp, head: &[u8]) {
        let mut lines = head
            .split(|&c| c == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let first = lines.next().unwrap_or_default();
        let mut content_length = 0u64;
        let mut chunked = false;
        let mut credential = None;
        for line in lines {
            let Some(colon) = line.iter().position(|&c| c == b':') else {
                continue;
            };
            let name = &line[..colon];
            let value = trim(&line[colon + 1..]);
            if name.eq_ignore_ascii_case(b"content-length") {
                content_length = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = contains(&value.to_ascii_lowercase(), b"chunked");
            } else if name.eq_ignore_ascii_case(b"authorization") && dir == Direction::ToServer {
                if value.len() > 6 && value[..6].eq_ignore_ascii_case(b"basic ") {
                    let decoded = base64_decode(trim(&value[6..]));
                    let (user, pass) = match decoded.iter().position(|&c| c == b':') {
                        Some(i) => (&decoded[..i], &decoded[i + 1..]),
                        None => (&decoded[..], &[][..]),
                    };
                    credential = Some(Credential {
                        protocol: "http-basic",
                        username: username(user),
                        password_seen: !pass.is_empty(),
                        outcome: LoginOutcome::Unknown,
                        ts,
                    });
                } else {
                    self.ntlm_header(dir, value);
                }
            } else if name.eq_ignore_ascii_case(b"www-authenticate") && dir == Direction::ToClient {
                self.ntlm_header(dir, value);
            } else if name.eq_ignore_ascii_case(b"server") && dir == Direction::ToClient {
                self.server.get_or_insert_with(|| username(value));
            } else if name.eq_ignore_ascii_case(b"host") && dir == Direction::ToServer {
                self.host.get_or_insert_with(|| username(value));
            } else if name.eq_ignore_ascii_case(b"user-agent") && dir == Direction::ToServer {
                self.user_agent.get_or_insert_with(|| username(value));
            }
        }
        let reader = &mut self.heads[dir.index()];
        match dir {
            Direction::ToServer => {
                self.requests += 1;
                let idx = credential.map(|c| {
                    self.credentials.push(c);
                    self.credentials.len() - 1
                });
                if self.waiting.len() < 64 {
                    self.waiting.push_back(idx);
                }
                // Requests without Content-Length have no body (GET, HEAD, ...).
                reader.body_left = content_length;
            }
            Direction::ToClient => {
                self.responses += 1;
                let status: u16 = first
                    .get(9..12)
                    .and_then(|s| std::str::from_utf8(s).ok())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if (status >= 200 || status == 0)
                    && let Some(Some(idx)) = self.waiting.pop_front()
                {
                    self.credentials[idx].outcome = match status {
                        200..=399 => LoginOutcome::Accepted,
                        401 | 403 => LoginOutcome::Rejected,
                        _ => LoginOutcome::Unknown,
                    };
                }
                // 1xx, 204 and 304 have no body; a response to HEAD neither (not tracked: rare on devices).
                reader.body_left = if matches!(status, 100..=199 | 204 | 304) {
                    0
                } else {
                    content_length
                };
            }
        }
        if chunked {
            // Chunked bodies are not followed; later heads on this direction are not read.
            reader.lost = true;
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    trim_end(&b[start..])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl HttpExchange {
    /// An `NTLM` or `Negotiate` token (base64; Negotiate's SPNEGO wraps the NTLMSSP message, found
    /// by its signature).
    fn ntlm_header(&mut self, dir: Direction, value: &[u8]) {
        let token = [&b"ntlm "[..], b"negotiate "]
            .into_iter()
            .find(|p| value.len() > p.len() && value[..p.len()].eq_ignore_ascii_case(p))
            .map(|p| trim(&value[p.len()..]));
        let Some(token) = token.filter(|_| self.ntlm.len() < MAX_NTLM) else {
            return;
        };
        let decoded = base64_decode(token);
        if let Some(at) = find(&decoded, crate::ntlm::SIGNATURE)
            && let Ok(m) = crate::ntlm::parse(&decoded[at..])
        {
            self.ntlm.push((dir, m));
        }
    }
}

/// Standard base64 (RFC 4648), tolerant of missing padding; invalid characters end the input.
fn base64_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in input.iter().take(4096) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => break,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: Direction = Direction::ToServer;
    const DOWN: Direction = Direction::ToClient;
    const T: Timestamp = Timestamp(0);

    /// (user name, outcome) of each credential, in order.
    fn outcomes(credentials: &[Credential]) -> Vec<(&str, LoginOutcome)> {
        credentials
            .iter()
            .map(|c| (c.username.as_str(), c.outcome))
            .collect()
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode(b"YmlvbWVkOmd1ZXNzMTIz"), b"biomed:guess123");
        assert_eq!(base64_decode(b"YQ=="), b"a");
        assert_eq!(base64_decode(b"YQ"), b"a");
    }

    fn base64(b: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// Windows authentication to an intranet site: the client's NTLM negotiate and authenticate
    /// and the server's challenge, each with its sender's Windows version; a Basic header is
    /// still a credential, and a token that is not NTLMSSP is nothing.
    #[test]
    fn http_ntlm_tokens_are_read_from_both_sides() {
        use synth::payload::smb;
        let (mut neg, mut chal) = (Vec::new(), Vec::new());
        smb::ntlm_negotiate(&mut neg, (6, 1, 7601));
        let names = (
            "HOSPITAL",
            "LIS01",
            "hospital.example",
            "lis01.hospital.example",
        );
        smb::ntlm_challenge(
            &mut chal,
            (10, 0, 17763),
            names.0,
            names.1,
            names.2,
            names.3,
            [1; 8],
        );
        let mut h = HttpExchange::default();
        let req = format!(
            "GET /lis/ HTTP/1.1\r\nHost: lis01\r\nAuthorization: NTLM {}\r\n\r\n",
            base64(&neg)
        );
        h.data(UP, T, req.as_bytes());
        let resp = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate {}\r\nContent-Length: 0\r\n\r\n",
            base64(&chal)
        );
        h.data(DOWN, T, resp.as_bytes());
        h.data(
            UP,
            T,
            b"GET / HTTP/1.1\r\nAuthorization: Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag\r\n\r\n",
        );
        let got: Vec<(Direction, Option<String>, Option<String>)> = h
            .ntlm
            .iter()
            .map(|(d, m)| (*d, m.version_text(), m.nb_computer.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (UP, Some("6.1.7601".into()), None),
                (DOWN, Some("10.0.17763".into()), Some("LIS01".into())),
            ]
        );
        assert!(h.credentials.is_empty());
    }

    #[test]
    fn http_basic_user_is_kept_and_the_response_decides() {
        let mut h = HttpExchange::default();
        h.data(UP, T, b"GET /api/status HTTP/1.1\r\nHost: pump\r\nAuthorization: Basic YmlvbWVkOmd1ZXNzMTIz\r\n\r\n");
        h.data(
            DOWN,
            T,
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\nServer: PumpWebUI/2.1\r\n\r\nnope!",
        );
        // Pipelined in one segment, split across two reads.
        h.data(UP, T, b"POST /api/config HTTP/1.1\r\nAuthorization: Basic YmlvbWVkOlB1bXAjMjAyNA==\r\nContent-Le");
        h.data(UP, T, b"ngth: 4\r\n\r\n{\"a\"GET / HTTP/1.1\r\n\r\n");
        h.data(DOWN, T, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        h.data(DOWN, T, b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(h.requests, 3);
        assert_eq!(h.responses, 3);
        let got: Vec<(&str, bool, LoginOutcome)> = h
            .credentials
            .iter()
            .map(|c| (c.username.as_str(), c.password_seen, c.outcome))
            .collect();
        assert_eq!(
            got,
            vec![
                ("biomed", true, LoginOutcome::Rejected),
                ("biomed", true, LoginOutcome::Accepted)
            ]
        );
        assert_eq!(h.server.as_deref(), Some("PumpWebUI/2.1"));
        // The password is nowhere in what is kept.
        assert!(!format!("{h:?}").contains("guess123"));
    }

    #[test]
    fn telnet_login_attempts_and_outcomes() {
        let mut t = TelnetLogin::default();
        t.data(
            DOWN,
            T,
            b"\xff\xfb\x01\xff\xfb\x03MedDevice Console\r\nlogin: ",
        );
        // The client types one character per segment, as interactive telnet does.
        for c in b"service\r\n" {
            t.data(UP, T, &[*c]);
        }
        t.data(DOWN, T, b"service\r\nPassword: ");
        t.data(UP, T, b"wrongpass\r\n");
        t.data(DOWN, T, b"\r\nLogin incorrect\r\nlogin: ");
        t.data(UP, T, b"service\r\n");
        t.data(DOWN, T, b"Password: ");
        t.data(UP, T, b"svc-4711\r\n");
        t.data(
            DOWN,
            T,
            b"\r\nLast login: Mon Mar  3 08:12:44 from 127.0.0.1\r\npm8000> ",
        );
        t.close();
        let got = outcomes(&t.credentials);
        assert_eq!(
            got,
            vec![
                ("service", LoginOutcome::Rejected),
                ("service", LoginOutcome::Accepted)
            ]
        );
        assert!(!format!("{t:?}").contains("svc-4711"));
        // The greeting up to the first prompt, option negotiation removed.
        assert_eq!(t.banner.as_deref(), Some("MedDevice Console / login:"));
    }

    #[test]
    fn a_telnet_banner_is_bounded_and_needs_a_prompt() {
        let mut t = TelnetLogin::default();
        t.data(DOWN, T, &[b'A'; 4000]);
        t.data(DOWN, T, b"\x1b[2J\r\nlogin: ");
        let b = t.banner.clone().unwrap();
        assert_eq!(b.chars().count(), 160, "{b}");
        // No prompt before the client speaks: no banner.
        let mut t = TelnetLogin::default();
        t.data(DOWN, T, b"some text\r\n");
        t.data(UP, T, b"hello\r\n");
        t.data(DOWN, T, b"login: ");
        assert_eq!(t.banner, None);
    }

    #[test]
    fn ftp_user_pass_and_replies() {
        let mut f = FtpLogin::default();
        f.data(DOWN, T, b"220 FTP ready\r\n");
        f.data(UP, T, b"USER biomed\r\nPASS secret\r\n");
        f.data(DOWN, T, b"331 Password required\r\n530 Login incorrect\r\n");
        f.data(UP, T, b"USER anonymous\r\nPASS x\r\n");
        f.data(DOWN, T, b"230 Logged in\r\n");
        let got = outcomes(&f.credentials);
        assert_eq!(
            got,
            vec![
                ("biomed", LoginOutcome::Rejected),
                ("anonymous", LoginOutcome::Accepted)
            ]
        );
        assert_eq!(
            f.banner.as_deref(),
            Some("FTP ready"),
            "the greeting is identity evidence"
        );
    }

    #[test]
    fn http_names_the_host_and_the_page_title() {
        let mut h = HttpExchange::default();
        h.data(UP, T, b"GET / HTTP/1.1\r\nHost: pump-0042.example\r\n\r\n");
        let body = b"<html><head><TITLE>\n  Alaris 8015   PC Unit</title></head></html>";
        let head = format!(
            "HTTP/1.1 200 OK\r\nServer: GoAhead\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        h.data(DOWN, T, head.as_bytes());
        h.data(DOWN, T, &body[..20]);
        assert_eq!(h.title, None, "not complete yet");
        h.data(DOWN, T, &body[20..]);
        assert_eq!(h.host.as_deref(), Some("pump-0042.example"));
        assert_eq!(h.title.as_deref(), Some("Alaris 8015 PC Unit"));
        assert_eq!(html_title(b"<title>unterminated"), None);
    }

    #[test]
    fn hostile_input_is_bounded() {
        let mut h = HttpExchange::default();
        h.data(UP, T, &vec![b'A'; 100_000]);
        assert!(h.heads[0].lost);
        assert!(h.heads[0].head.len() <= MAX_HTTP_HEAD + 4);
        let mut t = TelnetLogin::default();
        t.data(DOWN, T, &vec![b'x'; 100_000]);
        assert!(t.server_tail.len() <= MAX_LINE);
        t.data(UP, T, &vec![b'y'; 100_000]);
        assert!(t.client.line.len() <= MAX_LINE);
    }
}
