//! A real Dovecot for the imap connector's tests, reached over plain IMAP on
//! 127.0.0.1:10143 (started by `scripts/dovecot.sh`).
//!
//! [`Dovecot::connect`] gives each test its own fresh user (the test Dovecot accepts any
//! user name with the password `test` and gives each its own maildir), so tests never see
//! each other's mail. Seeding is IMAP `APPEND` of RFC 5322 messages with the From/To/Cc,
//! `Date:` and internal date a test asks for; inspection counts messages and lists their
//! `From:` headers. The client here is a few lines of IMAP over `TcpStream`: test seeding
//! only, and it keeps testkit's dependencies small.
//!
//! When Dovecot is not reachable, `connect` prints `SKIPPED: …` and returns `None`, unless
//! `GALLRA_REQUIRE_SERVERS=1` (CI), which makes it panic.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// The test Dovecot's host.
pub const HOST: &str = "127.0.0.1";
/// Its plain IMAP port (STARTTLS offered).
pub const PORT: u16 = 10143;
/// Its IMAP-over-TLS port.
pub const TLS_PORT: u16 = 10993;
/// The password of every user.
pub const PASSWORD: &str = "test";

/// One test's user on the test Dovecot.
#[derive(Debug, Clone)]
pub struct Dovecot {
    user: String,
}

/// A message to seed. Dates are RFC 3339 UTC (`2024-01-15T10:00:00Z`).
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// `From:` header value, e.g. `Anna <anna@example.se>`.
    pub from: String,
    /// `To:` header value.
    pub to: String,
    /// `Cc:` header value, if any.
    pub cc: Option<String>,
    /// `Subject:` header value.
    pub subject: String,
    /// The `Date:` header (when it was written); `None` leaves the header out.
    pub date: Option<String>,
    /// The internal date (when the server received it); `None` lets the server use now.
    pub internal_date: Option<String>,
    /// The body text.
    pub body: String,
}

impl Message {
    /// A message from `from` to `to` with a subject, dated (header and internal date) `at`.
    pub fn new(from: &str, to: &str, subject: &str, at: &str) -> Self {
        Self {
            from: from.to_owned(),
            to: to.to_owned(),
            cc: None,
            subject: subject.to_owned(),
            date: Some(at.to_owned()),
            internal_date: Some(at.to_owned()),
            body: format!("Hello,\r\nthis is about {subject}.\r\n"),
        }
    }

    /// With a `Cc:` header.
    pub fn cc(mut self, cc: &str) -> Self {
        self.cc = Some(cc.to_owned());
        self
    }

    /// With a different internal date.
    pub fn received(mut self, at: &str) -> Self {
        self.internal_date = Some(at.to_owned());
        self
    }

    /// With a different `Date:` header, written as is (may be invalid on purpose).
    pub fn date_header(mut self, raw: &str) -> Self {
        self.date = Some(raw.to_owned());
        self
    }

    /// The message as RFC 5322 text with CRLF line ends.
    pub fn to_rfc5322(&self) -> String {
        let mut text = format!("From: {}\r\nTo: {}\r\n", self.from, self.to);
        if let Some(cc) = &self.cc {
            text.push_str(&format!("Cc: {cc}\r\n"));
        }
        if let Some(date) = &self.date {
            let date = rfc3339_to(date, DateForm::Header).unwrap_or_else(|| date.clone());
            text.push_str(&format!("Date: {date}\r\n"));
        }
        text.push_str(&format!(
            "Subject: {}\r\nMessage-ID: <{}@gallra.test>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
            self.subject,
            crate::unique_name("msg", '-'),
            self.body
        ));
        text
    }
}

impl Dovecot {
    /// A fresh user on the test Dovecot, or `None` (with `SKIPPED: …` on stderr) when it is
    /// unreachable. Panics instead when `GALLRA_REQUIRE_SERVERS=1`.
    pub fn connect() -> Option<Self> {
        let dovecot = Self {
            user: crate::unique_name("gallra-test", '-'),
        };
        match dovecot.session() {
            Ok(session) => {
                session.logout();
                Some(dovecot)
            }
            Err(e) => {
                let what =
                    format!("Dovecot unreachable at {HOST}:{PORT}: run scripts/dovecot.sh ({e})");
                if std::env::var("GALLRA_REQUIRE_SERVERS").as_deref() == Ok("1") {
                    panic!("{what} (GALLRA_REQUIRE_SERVERS=1)");
                }
                eprintln!("SKIPPED: {what}");
                None
            }
        }
    }

    /// This test's user name.
    pub fn username(&self) -> &str {
        &self.user
    }

    /// Another fresh user on the same server.
    pub fn another_user(&self) -> Self {
        Self {
            user: crate::unique_name("gallra-test", '-'),
        }
    }

    /// The CA certificate the test server's TLS certificate is signed by, if the script made
    /// one (`$GALLRA_DOVECOT_DIR/tls/ca.pem`).
    pub fn ca_file() -> Option<PathBuf> {
        let dir = std::env::var("GALLRA_DOVECOT_DIR").unwrap_or("/tmp/gallra-dovecot".into());
        let path = PathBuf::from(dir).join("tls/ca.pem");
        path.exists().then_some(path)
    }

    /// Logs in as this test's user, for commands of the test's own.
    pub fn session(&self) -> io::Result<Session> {
        Session::login(&self.user)
    }

    /// Creates `mailbox` (given as its wire name) if it does not exist yet.
    pub fn create_mailbox(&self, mailbox: &str) {
        let mut s = self.session().expect("IMAP session");
        s.create(mailbox);
        s.logout();
    }

    /// Appends `message` to `mailbox` (created as needed); returns its UID.
    pub fn append(&self, mailbox: &str, message: &Message) -> u32 {
        let mut s = self.session().expect("IMAP session");
        s.create(mailbox);
        let uid = s.append(mailbox, message);
        s.logout();
        uid
    }

    /// How many messages `mailbox` holds (0 if it does not exist).
    pub fn count(&self, mailbox: &str) -> usize {
        let mut s = self.session().expect("IMAP session");
        let n = if s.examine(mailbox) {
            s.uids().len()
        } else {
            0
        };
        s.logout();
        n
    }

    /// The UIDs in `mailbox`, ascending.
    pub fn uids(&self, mailbox: &str) -> Vec<u32> {
        let mut s = self.session().expect("IMAP session");
        assert!(s.examine(mailbox), "mailbox {mailbox} exists");
        let uids = s.uids();
        s.logout();
        uids
    }

    /// The `From:` header values of `mailbox`'s messages, in UID order.
    pub fn from_headers(&self, mailbox: &str) -> Vec<String> {
        self.header_fields(mailbox, "FROM")
            .into_iter()
            .map(|text| {
                text.trim()
                    .strip_prefix("From:")
                    .unwrap_or(&text)
                    .trim()
                    .to_owned()
            })
            .collect()
    }

    /// The `From:`, `To:`, `Cc:` and `Bcc:` lines of each of `mailbox`'s messages, one
    /// string per message, in UID order.
    pub fn address_headers(&self, mailbox: &str) -> Vec<String> {
        self.header_fields(mailbox, "FROM TO CC BCC")
    }

    /// The given header fields of each message (`BODY.PEEK[HEADER.FIELDS (…)]`).
    fn header_fields(&self, mailbox: &str, fields: &str) -> Vec<String> {
        let mut s = self.session().expect("IMAP session");
        if !s.examine(mailbox) {
            return Vec::new();
        }
        let reply = s.run(&format!(
            "UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS ({fields})])"
        ));
        s.logout();
        reply
            .literals
            .iter()
            .map(|header| String::from_utf8_lossy(header).into_owned())
            .collect()
    }

    /// Marks message `uid` of `mailbox` `\Deleted` without expunging it, as another mail
    /// client would.
    pub fn flag_deleted(&self, mailbox: &str, uid: u32) {
        let mut s = self.session().expect("IMAP session");
        assert!(s.select(mailbox), "mailbox {mailbox} exists");
        s.run_ok(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"));
        s.logout();
    }
}

/// A logged-in IMAP session that speaks just enough IMAP for seeding and inspection.
pub struct Session {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    tag: u32,
}

/// A command's answer: the untagged lines (literals replaced by `{n}`), the literals, and
/// the tagged status line.
#[derive(Debug, Default)]
pub struct Reply {
    /// `* …` lines.
    pub untagged: Vec<String>,
    /// Literal payloads, in order.
    pub literals: Vec<Vec<u8>>,
    /// The tagged line without its tag, e.g. `OK [APPENDUID 1 3] Append completed.`
    pub status: String,
}

impl Reply {
    /// Whether the command succeeded.
    pub fn ok(&self) -> bool {
        self.status.starts_with("OK")
    }
}

impl Session {
    fn login(user: &str) -> io::Result<Self> {
        let address: SocketAddr = format!("{HOST}:{PORT}").parse().expect("address");
        let stream = TcpStream::connect_timeout(&address, Duration::from_secs(3))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut session = Self {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            tag: 0,
        };
        let mut greeting = String::new();
        session.reader.read_line(&mut greeting)?;
        if !greeting.starts_with("* OK") {
            return Err(io::Error::other(format!(
                "unexpected greeting {greeting:?}"
            )));
        }
        let reply = session.command(&format!("LOGIN \"{user}\" \"{PASSWORD}\""))?;
        if !reply.ok() {
            return Err(io::Error::other(format!("LOGIN: {}", reply.status)));
        }
        Ok(session)
    }

    /// Sends a command (without tag or CRLF) and reads its answer.
    pub fn command(&mut self, command: &str) -> io::Result<Reply> {
        self.tag += 1;
        let tag = format!("T{}", self.tag);
        write!(self.writer, "{tag} {command}\r\n")?;
        self.read_reply(&tag)
    }

    /// Sends a command and panics unless it succeeds.
    pub fn run_ok(&mut self, command: &str) -> Reply {
        let reply = self.run(command);
        assert!(reply.ok(), "{command}: {}", reply.status);
        reply
    }

    /// Sends a command; panics on I/O errors only.
    pub fn run(&mut self, command: &str) -> Reply {
        self.command(command)
            .unwrap_or_else(|e| panic!("{command}: {e}"))
    }

    fn read_reply(&mut self, tag: &str) -> io::Result<Reply> {
        let mut reply = Reply::default();
        loop {
            let line = self.read_line_with_literals(&mut reply.literals)?;
            if let Some(status) = line.strip_prefix(&format!("{tag} ")) {
                reply.status = status.to_owned();
                return Ok(reply);
            }
            reply.untagged.push(line);
        }
    }

    /// One logical response line; literals (`{n}` CRLF bytes) are read into `literals`.
    fn read_line_with_literals(&mut self, literals: &mut Vec<Vec<u8>>) -> io::Result<String> {
        let mut logical = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            logical.push_str(line);
            let Some(size) = literal_size(line) else {
                return Ok(logical);
            };
            let mut literal = vec![0; size];
            self.reader.read_exact(&mut literal)?;
            literals.push(literal);
        }
    }

    /// `CREATE`, accepting a mailbox that already exists.
    pub fn create(&mut self, mailbox: &str) {
        if mailbox.eq_ignore_ascii_case("INBOX") {
            return;
        }
        let reply = self.run(&format!("CREATE {}", quote(mailbox)));
        assert!(
            reply.ok() || reply.status.contains("ALREADYEXISTS"),
            "CREATE {mailbox}: {}",
            reply.status
        );
    }

    /// `SELECT`; whether the mailbox exists.
    pub fn select(&mut self, mailbox: &str) -> bool {
        self.run(&format!("SELECT {}", quote(mailbox))).ok()
    }

    /// `EXAMINE`; whether the mailbox exists.
    pub fn examine(&mut self, mailbox: &str) -> bool {
        self.run(&format!("EXAMINE {}", quote(mailbox))).ok()
    }

    /// `UID SEARCH ALL` in the open mailbox, ascending.
    pub fn uids(&mut self) -> Vec<u32> {
        let reply = self.run_ok("UID SEARCH ALL");
        let mut uids: Vec<u32> = reply
            .untagged
            .iter()
            .filter_map(|l| l.strip_prefix("* SEARCH"))
            .flat_map(|rest| rest.split_whitespace().filter_map(|n| n.parse().ok()))
            .collect();
        uids.sort_unstable();
        uids
    }

    /// `APPEND` with a synchronizing literal; the new message's UID (from APPENDUID).
    pub fn append(&mut self, mailbox: &str, message: &Message) -> u32 {
        let text = message.to_rfc5322();
        let date = message
            .internal_date
            .as_deref()
            .map(|d| {
                let d = rfc3339_to(d, DateForm::Internal).expect("RFC 3339 internal date");
                format!(" \"{d}\"")
            })
            .unwrap_or_default();
        self.tag += 1;
        let tag = format!("T{}", self.tag);
        write!(
            self.writer,
            "{tag} APPEND {}{date} {{{}}}\r\n",
            quote(mailbox),
            text.len()
        )
        .expect("write APPEND");
        let mut go_ahead = String::new();
        self.reader.read_line(&mut go_ahead).expect("read");
        assert!(go_ahead.starts_with('+'), "APPEND: {go_ahead}");
        write!(self.writer, "{text}\r\n").expect("write message");
        let reply = self.read_reply(&tag).expect("APPEND reply");
        assert!(reply.ok(), "APPEND: {}", reply.status);
        // OK [APPENDUID <validity> <uid>] …
        reply
            .status
            .split_once("APPENDUID ")
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|uid| uid.trim_end_matches(']').parse().ok())
            .expect("APPENDUID in the APPEND reply")
    }

    /// `LOGOUT`, ignoring errors.
    pub fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }
}

fn literal_size(line: &str) -> Option<usize> {
    let open = line.strip_suffix('}')?.rfind('{')?;
    line[open + 1..line.len() - 1].parse().ok()
}

fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[derive(Clone, Copy)]
enum DateForm {
    /// `15 Jan 2024 10:00:00 +0000` (RFC 5322 `Date:`).
    Header,
    /// `15-Jan-2024 10:00:00 +0000` (IMAP date-time).
    Internal,
}

/// Converts `YYYY-MM-DDTHH:MM:SSZ` to a mail date form; `None` if it is not in that form.
fn rfc3339_to(value: &str, form: DateForm) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let value = value.strip_suffix('Z')?;
    let (date, time) = value.split_once('T')?;
    let mut parts = date.splitn(3, '-');
    let year: u32 = parts.next()?.parse().ok()?;
    let month: usize = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let month = MONTHS.get(month.checked_sub(1)?)?;
    if time.len() != 8 || time.split(':').count() != 3 {
        return None;
    }
    Some(match form {
        DateForm::Header => format!("{day} {month} {year} {time} +0000"),
        DateForm::Internal => format!("{day:02}-{month}-{year} {time} +0000"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_convert_to_mail_forms() {
        let at = "2024-01-05T10:00:00Z";
        assert_eq!(
            rfc3339_to(at, DateForm::Header).as_deref(),
            Some("5 Jan 2024 10:00:00 +0000")
        );
        assert_eq!(
            rfc3339_to(at, DateForm::Internal).as_deref(),
            Some("05-Jan-2024 10:00:00 +0000")
        );
        assert_eq!(rfc3339_to("yesterday", DateForm::Header), None);
    }

    #[test]
    fn literal_sizes_are_read_from_line_ends() {
        assert_eq!(literal_size("* 1 FETCH (BODY[HEADER] {42}"), Some(42));
        assert_eq!(literal_size("* 1 FETCH (FLAGS ())"), None);
    }
}
