//! HTTP/1.1 messages (RFC 9112) as real clients and servers write them: CRLF line ends, headers in
//! the order curl (requests) and nginx (responses) use, `Content-Length` framing.
//!
//! No input breaks the framing: control characters in header values are dropped, the method
//! keeps only token characters, and the request target is percent-encoded where it holds
//! spaces, controls or non-ASCII bytes. Everything else is written as given. No allocation
//! beyond growing `out`.

/// A request head and body, headers in curl's order: Host, Authorization, User-Agent, Accept,
/// Content-Length, Content-Type.
///
/// An empty `method` is GET and an empty `path` is "/"; an empty `user_agent` leaves the header
/// out. `basic_auth` is written as `Authorization: Basic base64(user:pass)` (RFC 7617).
/// Content-Length is written when there is a body or the method is POST, PUT or PATCH (an empty
/// POST says `Content-Length: 0`, as curl does).
#[allow(clippy::too_many_arguments)] // the parameters are the header fields
pub fn request(
    out: &mut Vec<u8>,
    method: &str,
    path: &str,
    host: &str,
    user_agent: &str,
    basic_auth: Option<(&str, &str)>,
    content_type: Option<&str>,
    body: &[u8],
) {
    out.reserve(128 + path.len() + host.len() + user_agent.len() + body.len());
    put_method(out, method);
    out.push(b' ');
    if path.is_empty() {
        out.push(b'/');
    } else {
        put_target(out, path);
    }
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    put_value(out, host);
    out.extend_from_slice(b"\r\n");
    if let Some((user, pass)) = basic_auth {
        out.extend_from_slice(b"Authorization: Basic ");
        base64_userpass(out, user.as_bytes(), pass.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !user_agent.is_empty() {
        header(out, b"User-Agent: ", user_agent);
    }
    out.extend_from_slice(b"Accept: */*\r\n");
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        out.extend_from_slice(b"Content-Length: ");
        put_decimal(out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(ct) = content_type {
        header(out, b"Content-Type: ", ct);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// A response head and body, headers in nginx's order: Server, Date, Content-Type,
/// Content-Length. Empty `server`, `content_type` or `date` leave their header out; `date` is an
/// IMF-fixdate the caller formats ("Tue, 04 Mar 2025 10:15:00 GMT"), so that the output stays a
/// pure function of the inputs.
///
/// 1xx, 204 and 304 responses have no body (RFC 9110 §6.4.1): neither Content-Type,
/// Content-Length nor `body` is written for them. An unknown status has an empty reason phrase;
/// a status outside 100..=999 is clamped into it.
pub fn response(
    out: &mut Vec<u8>,
    status: u16,
    server: &str,
    content_type: &str,
    body: &[u8],
    date: &str,
) {
    out.reserve(128 + server.len() + body.len());
    let status = status.clamp(100, 999);
    out.extend_from_slice(b"HTTP/1.1 ");
    put_decimal(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    if !server.is_empty() {
        header(out, b"Server: ", server);
    }
    if !date.is_empty() {
        header(out, b"Date: ", date);
    }
    let bodyless = status < 200 || status == 204 || status == 304;
    if !bodyless {
        if !content_type.is_empty() {
            header(out, b"Content-Type: ", content_type);
        }
        out.extend_from_slice(b"Content-Length: ");
        put_decimal(out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !bodyless {
        out.extend_from_slice(body);
    }
}

/// A small HTML page as an embedded device web server serves it (LF line ends, as in the files
/// such servers ship). `title` and `body_text` are escaped.
pub fn device_page(out: &mut Vec<u8>, title: &str, body_text: &str) {
    out.extend_from_slice(
        b"<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
          <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
    );
    put_html(out, title);
    out.extend_from_slice(b"</title>\n</head>\n<body>\n<h1>");
    put_html(out, title);
    out.extend_from_slice(b"</h1>\n<p>");
    put_html(out, body_text);
    out.extend_from_slice(b"</p>\n</body>\n</html>\n");
}

/// The reason phrase of a status code (RFC 9110 §15), empty for one it does not name.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Standard base64 (RFC 4648 §4) with padding.
pub fn base64(out: &mut Vec<u8>, data: &[u8]) {
    let mut enc = Base64::default();
    enc.push(out, data);
    enc.finish(out);
}

/// `user:pass` in base64 without building the joined string.
fn base64_userpass(out: &mut Vec<u8>, user: &[u8], pass: &[u8]) {
    let mut enc = Base64::default();
    enc.push(out, user);
    enc.push(out, b":");
    enc.push(out, pass);
    enc.finish(out);
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A streaming base64 encoder: up to two bytes wait for a full group of three.
#[derive(Default)]
struct Base64 {
    pending: [u8; 3],
    n: usize,
}

impl Base64 {
    fn push(&mut self, out: &mut Vec<u8>, mut data: &[u8]) {
        while self.n > 0 && self.n < 3 {
            let Some((&b, rest)) = data.split_first() else {
                return;
            };
            self.pending[self.n] = b;
            self.n += 1;
            data = rest;
        }
        if self.n == 3 {
            group(out, self.pending);
            self.n = 0;
        }
        let mut chunks = data.chunks_exact(3);
        for c in &mut chunks {
            group(out, [c[0], c[1], c[2]]);
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.n = rest.len();
    }

    fn finish(self, out: &mut Vec<u8>) {
        let [a, b, _] = self.pending;
        match self.n {
            1 => out.extend_from_slice(&[
                B64[(a >> 2) as usize],
                B64[((a & 3) << 4) as usize],
                b'=',
                b'=',
            ]),
            2 => out.extend_from_slice(&[
                B64[(a >> 2) as usize],
                B64[((a & 3) << 4 | b >> 4) as usize],
                B64[((b & 0xf) << 2) as usize],
                b'=',
            ]),
            _ => {}
        }
    }
}

fn group(out: &mut Vec<u8>, [a, b, c]: [u8; 3]) {
    out.extend_from_slice(&[
        B64[(a >> 2) as usize],
        B64[((a & 3) << 4 | b >> 4) as usize],
        B64[((b & 0xf) << 2 | c >> 6) as usize],
        B64[(c & 0x3f) as usize],
    ]);
}

fn header(out: &mut Vec<u8>, name: &[u8], value: &str) {
    out.extend_from_slice(name);
    put_value(out, value);
    out.extend_from_slice(b"\r\n");
}

/// A header value without control characters other than HTAB (RFC 9110 §5.5): they are dropped.
fn put_value(out: &mut Vec<u8>, s: &str) {
    let s = s.as_bytes();
    let bad = |b: u8| (b < 0x20 && b != b'\t') || b == 0x7f;
    if s.iter().any(|&b| bad(b)) {
        out.extend(s.iter().copied().filter(|&b| !bad(b)));
    } else {
        out.extend_from_slice(s);
    }
}

/// The method: only token characters (RFC 9110 §5.6.2); GET if none is left.
fn put_method(out: &mut Vec<u8>, s: &str) {
    let start = out.len();
    out.extend(
        s.bytes()
            .filter(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)),
    );
    if out.len() == start {
        out.extend_from_slice(b"GET");
    }
}

/// The request target, percent-encoding what a browser would not send raw: controls, space, DEL
/// and non-ASCII bytes.
fn put_target(out: &mut Vec<u8>, s: &str) {
    let s = s.as_bytes();
    let raw = |b: u8| b > 0x20 && b < 0x7f;
    if s.iter().all(|&b| raw(b)) {
        out.extend_from_slice(s);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s {
        if raw(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
        }
    }
}

fn put_decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn put_html(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(data: &[u8]) -> String {
        let mut out = Vec::new();
        base64(&mut out, data);
        String::from_utf8(out).unwrap()
    }

    /// Inverse of base64, for the tests.
    fn unb64(s: &str) -> Vec<u8> {
        let val = |c: u8| B64.iter().position(|&x| x == c).unwrap() as u32;
        let s = s.trim_end_matches('=').as_bytes();
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for &c in s {
            bits = bits << 6 | val(c);
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
            }
        }
        out
    }

    #[test]
    fn base64_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in cases {
            assert_eq!(b64(plain.as_bytes()), enc);
        }
        // Streaming across pieces of every length gives the same result.
        for user in ["", "a", "ab", "abc", "abcd"] {
            for pass in ["", "x", "xy", "xyz"] {
                let mut out = Vec::new();
                base64_userpass(&mut out, user.as_bytes(), pass.as_bytes());
                assert_eq!(out, b64(format!("{user}:{pass}").as_bytes()).as_bytes());
                assert_eq!(
                    unb64(std::str::from_utf8(&out).unwrap()),
                    format!("{user}:{pass}").as_bytes()
                );
            }
        }
    }

    #[test]
    fn get_request_exact() {
        let mut out = Vec::new();
        request(
            &mut out,
            "GET",
            "/index.html",
            "10.1.2.3",
            "curl/8.5.0",
            None,
            None,
            b"",
        );
        assert_eq!(
            out,
            b"GET /index.html HTTP/1.1\r\nHost: 10.1.2.3\r\nUser-Agent: curl/8.5.0\r\n\
              Accept: */*\r\n\r\n"
        );
    }

    #[test]
    fn post_request_with_auth() {
        let mut out = vec![0];
        request(
            &mut out,
            "POST",
            "/api/v1/config",
            "pump-17.icu",
            "",
            Some(("Aladdin", "open sesame")),
            Some("application/json"),
            b"{\"rate\":5}",
        );
        assert_eq!(
            &out[1..],
            b"POST /api/v1/config HTTP/1.1\r\nHost: pump-17.icu\r\n\
              Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nAccept: */*\r\n\
              Content-Length: 10\r\nContent-Type: application/json\r\n\r\n{\"rate\":5}"
        );
        out.clear();
        request(&mut out, "POST", "", "h", "", None, None, b"");
        assert!(out.starts_with(b"POST / HTTP/1.1\r\n"));
        assert!(out.ends_with(b"Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn injection_cannot_break_framing() {
        let mut out = Vec::new();
        request(
            &mut out,
            "G ET",
            "/a b\r\nX:\u{e9}",
            "h\r\nEvil: 1",
            "ua\n\0",
            None,
            None,
            b"",
        );
        assert_eq!(
            out,
            b"GET /a%20b%0D%0AX:%C3%A9 HTTP/1.1\r\nHost: hEvil: 1\r\nUser-Agent: ua\r\n\
              Accept: */*\r\n\r\n"
        );
        out.clear();
        request(&mut out, " \r\n", "", "h", "", None, None, b"");
        assert!(out.starts_with(b"GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn response_exact() {
        let mut out = Vec::new();
        let date = "Tue, 04 Mar 2025 10:15:00 GMT";
        response(
            &mut out,
            200,
            "nginx/1.24.0",
            "text/html",
            b"<p>hi</p>",
            date,
        );
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Tue, 04 Mar 2025 10:15:00 GMT\r\n\
              Content-Type: text/html\r\nContent-Length: 9\r\n\r\n<p>hi</p>"
        );
        out.clear();
        response(&mut out, 304, "", "text/html", b"ignored", "");
        assert_eq!(out, b"HTTP/1.1 304 Not Modified\r\n\r\n");
        out.clear();
        response(&mut out, 599, "x", "", b"", "");
        assert_eq!(
            out,
            b"HTTP/1.1 599 \r\nServer: x\r\nContent-Length: 0\r\n\r\n"
        );
        out.clear();
        response(&mut out, 7, "", "", b"", "");
        assert!(out.starts_with(b"HTTP/1.1 100 "));
    }

    #[test]
    fn decimal() {
        for v in [0u64, 7, 10, 99, 100, 12345, u64::MAX] {
            let mut out = Vec::new();
            put_decimal(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }

    #[test]
    fn page_is_escaped_html() {
        let mut out = Vec::new();
        device_page(&mut out, "MX450 <ICU>", "Tom & \"Jerry\"");
        let page = String::from_utf8(out).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>\n"));
        assert!(page.contains("<title>MX450 &lt;ICU&gt;</title>"));
        assert!(page.contains("<p>Tom &amp; &quot;Jerry&quot;</p>"));
        assert!(page.ends_with("</html>\n"));
    }
}
