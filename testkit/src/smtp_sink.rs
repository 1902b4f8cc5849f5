//! Test support: a real SMTP server on `127.0.0.1` that keeps every message in memory, for
//! tests that prove a notice reached a mail server with the right text. Not for production:
//! it accepts anything from anyone, never relays, and keeps everything until dropped.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use gallra_testkit::smtp_sink::SmtpSink;
//!
//! let sink = SmtpSink::start().await?;
//! // … configure the relay as 127.0.0.1:sink.port() with starttls = false, send …
//! let mails = sink.wait_for(1, Duration::from_secs(10)).await.expect("one message");
//! assert_eq!(mails[0].to, ["asa@example.se"]);
//! assert!(mails[0].body_text().contains("2026-05-01"));
//! # Ok(()) }
//! ```
//!
//! Speaks EHLO/HELO, AUTH PLAIN (any password), MAIL FROM, RCPT TO, DATA (with
//! dot-unstuffing), RSET, NOOP and QUIT.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), without angle brackets.
    pub to: Vec<String>,
    /// The user given with `AUTH PLAIN`, if the client logged in.
    pub authenticated_as: Option<String>,
    /// The message as sent after `DATA`: headers and body, CRLF line ends, dot-unstuffed.
    pub data: String,
}

struct Shared {
    messages: Mutex<Vec<ReceivedMail>>,
    count: watch::Sender<usize>,
}

/// A running SMTP sink; stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts listening on `127.0.0.1` on a free port.
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            count: watch::channel(0).0,
        });
        let for_accept = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&for_accept);
                tokio::spawn(async move {
                    // A client that goes away mid-session is its own business.
                    let _ = session(stream, &shared).await;
                });
            }
        });
        Ok(Self {
            addr,
            shared,
            accept,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its port (the host is `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `n` messages have arrived and returns them all; `None` if
    /// `timeout` passes first.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Option<Vec<ReceivedMail>> {
        let mut count = self.shared.count.subscribe();
        tokio::time::timeout(timeout, count.wait_for(|c| *c >= n))
            .await
            .ok()?
            .ok()?;
        Some(self.messages())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn session(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 gallra-test-sink ESMTP\r\n").await?;

    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut user: Option<String> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-gallra-test-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "RSET" => {
                from = None;
                to.clear();
                b"250 OK\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            "AUTH" => match auth_plain_user(command) {
                Some(name) => {
                    user = Some(name);
                    b"235 Authenticated\r\n"
                }
                None => b"504 Only AUTH PLAIN with an initial response\r\n",
            },
            "MAIL" => match path_after(command, "FROM:") {
                Some(addr) => {
                    from = Some(addr);
                    to.clear();
                    b"250 OK\r\n"
                }
                None => b"501 Syntax: MAIL FROM:<address>\r\n",
            },
            "RCPT" if from.is_none() => b"503 MAIL first\r\n",
            "RCPT" => match path_after(command, "TO:") {
                Some(addr) => {
                    to.push(addr);
                    b"250 OK\r\n"
                }
                None => b"501 Syntax: RCPT TO:<address>\r\n",
            },
            "DATA" if to.is_empty() => b"503 RCPT first\r\n",
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(data) = read_data(&mut lines).await? else {
                    return Ok(());
                };
                let mail = ReceivedMail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    authenticated_as: user.clone(),
                    data,
                };
                let count = {
                    let mut messages = shared
                        .messages
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    messages.push(mail);
                    messages.len()
                };
                shared.count.send_replace(count);
                b"250 OK queued\r\n"
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// Reads DATA lines up to the lone `.`, undoing dot-stuffing; `None` if the client left.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> io::Result<Option<String>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let content = line.strip_suffix(b"\n").unwrap_or(&line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content == b"." {
            return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(unstuffed);
    }
}

/// `MAIL FROM:<a@b> SIZE=1` → `a@b`.
fn path_after(command: &str, keyword: &str) -> Option<String> {
    let rest = command.get(5..)?.trim_start();
    if !rest
        .get(..keyword.len())
        .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    {
        return None;
    }
    let rest = rest[keyword.len()..].trim_start();
    let path = rest.split_whitespace().next().unwrap_or("");
    let addr = path.strip_prefix('<')?.strip_suffix('>')?;
    Some(addr.to_owned())
}

/// `AUTH PLAIN <base64 of "\0user\0password">` → the user.
fn auth_plain_user(command: &str) -> Option<String> {
    let mut words = command.split_whitespace().skip(1);
    if !words.next()?.eq_ignore_ascii_case("PLAIN") {
        return None;
    }
    let decoded = decode_base64(words.next()?)?;
    let mut parts = decoded.split(|&b| b == 0);
    let _authzid = parts.next()?;
    Some(String::from_utf8_lossy(parts.next()?).into_owned())
}

impl ReceivedMail {
    /// A header's value: unfolded, with RFC 2047 encoded words (`=?utf-8?b?…?=`) decoded.
    /// The first one if the header appears more than once; the name is case-insensitive.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push_str(line);
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.trim().eq_ignore_ascii_case(name) {
                    value = Some(v.trim_start().to_owned());
                }
            }
        }
        value.map(|v| decode_words(v.trim()))
    }

    /// The body as text, decoded from its Content-Transfer-Encoding (base64,
    /// quoted-printable, or none), with CRLF line ends as sent. Single-part messages only.
    pub fn body_text(&self) -> String {
        let (_, body) = self.split();
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "base64" => decode_base64(body).unwrap_or_default(),
            "quoted-printable" => decode_quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn split(&self) -> (&str, &str) {
        self.data.split_once("\r\n\r\n").unwrap_or((&self.data, ""))
    }
}

/// Decodes RFC 2047 encoded words; white space between two encoded words is dropped.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new(); // bytes of adjacent encoded words
    let mut gap = String::new(); // white space since the last word
    let mut rest = value;
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        let space_end = tail
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(tail.len());
        let (space, tail) = tail.split_at(space_end);
        match decode_word(word) {
            Some(bytes) => {
                if pending.is_empty() {
                    out.push_str(&gap);
                }
                pending.extend(bytes);
            }
            None => {
                out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut pending)));
                out.push_str(&gap);
                out.push_str(word);
            }
        }
        gap = space.to_owned();
        rest = tail;
    }
    out.push_str(&String::from_utf8_lossy(&pending));
    out
}

/// `=?charset?b|q?text?=` → bytes (the charset is taken to be UTF-8).
fn decode_word(word: &str) -> Option<Vec<u8>> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let (_charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
    match encoding {
        "b" | "B" => decode_base64(text),
        "q" | "Q" => Some(decode_quoted_printable(&text.replace('_', " "))),
        _ => None,
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if bytes[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words_and_transfer_encodings() {
        assert_eq!(
            decode_words("=?utf-8?b?SMOkbHNuaW5n?= =?utf-8?b?YXIgZnLDpW4=?= Gallra"),
            "Hälsningar från Gallra"
        );
        assert_eq!(decode_words("Plain  text"), "Plain  text");
        assert_eq!(decode_words("=?utf-8?q?=C3=A5_=C3=B6?= x"), "å ö x");
        assert_eq!(decode_base64("w6XDpMO2").unwrap(), "åäö".as_bytes());
        assert_eq!(
            decode_quoted_printable("r=C3=A4d=\r\n ett=3D1"),
            "räd ett=1".as_bytes()
        );
    }

    #[test]
    fn reads_envelope_paths() {
        assert_eq!(
            path_after("MAIL FROM:<a@b.se> SIZE=10", "FROM:").as_deref(),
            Some("a@b.se")
        );
        assert_eq!(
            path_after("RCPT TO: <c@d.se>", "TO:").as_deref(),
            Some("c@d.se")
        );
        assert_eq!(path_after("MAIL FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_after("RCPT TO:c@d.se", "TO:"), None);
    }
}
