//! Connections to the IMAP server: TCP with timeouts, TLS (implicit or STARTTLS) through the
//! workspace's rustls, LOGIN, and a small pool of logged-in sessions that are reused across
//! calls and replaced when they turn out to be broken.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gallra_plugin_api::ConnectorError;
use imap::Session;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::config::{Settings, TlsMode};
use crate::error::ImapError;

/// How many logged-in sessions stay open between calls.
const MAX_IDLE: usize = 4;

/// A plain or TLS byte stream to the server.
pub enum Stream {
    /// No encryption (this machine only).
    Plain(TcpStream),
    /// TLS, set up before any IMAP command that matters.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A password read from a file; never printed.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Password {
    /// Reads `password_file`, refusing a file that others may read. A trailing newline is
    /// not part of the password. Not the kit's `http::Secret`: that sits behind the `http`
    /// feature, which would link reqwest into a plugin that speaks no HTTP, and it only warns
    /// about a file others can read where gallra's file-secrets refuse it.
    pub fn from_file(path: &Path) -> Result<Self, ConnectorError> {
        let shown = path.display();
        let fail = |e: io::Error| {
            ConnectorError::config("password_file", format!("cannot read {shown}: {e}"))
        };
        let metadata = std::fs::metadata(path).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if metadata.permissions().mode() & 0o004 != 0 {
                return Err(ConnectorError::config(
                    "password_file",
                    format!("{shown} holds a secret but others can read it (run chmod o-r on it)"),
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
        let text = std::fs::read_to_string(path).map_err(fail)?;
        let password = text.strip_suffix('\n').unwrap_or(&text);
        let password = password.strip_suffix('\r').unwrap_or(password);
        if password.is_empty() {
            return Err(ConnectorError::config(
                "password_file",
                format!("{shown} is empty"),
            ));
        }
        if password.contains(['\r', '\n', '\0']) {
            return Err(ConnectorError::config(
                "password_file",
                format!("{shown} holds more than one line; IMAP passwords are one line"),
            ));
        }
        Ok(Self(password.to_owned()))
    }
}

/// Where and how to connect and log in.
#[derive(Debug)]
pub struct Endpoint {
    host: String,
    port: u16,
    tls: Option<(TlsMode, Arc<ClientConfig>)>,
    username: String,
    password: Password,
    timeout: Duration,
}

impl Endpoint {
    /// Reads the password and the trusted certificates; connects to nothing.
    pub fn new(settings: &Settings) -> Result<Self, ConnectorError> {
        let tls = match settings.tls {
            TlsMode::None => None,
            mode => Some((mode, Arc::new(tls_config(settings.ca_file.as_deref())?))),
        };
        Ok(Self {
            host: settings
                .host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: settings.port(),
            tls,
            username: settings.username.clone(),
            password: Password::from_file(&settings.password_file)?,
            timeout: Duration::from_secs(settings.timeout_secs),
        })
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Connects, sets up TLS and logs in.
    pub fn connect(&self) -> Result<Conn, ImapError> {
        let tcp = self.tcp()?;
        let client = match &self.tls {
            None => {
                let mut client = imap::Client::new(Stream::Plain(tcp));
                client
                    .read_greeting()
                    .map_err(|e| ImapError::from_imap("the greeting", true, e))?;
                client
            }
            Some((TlsMode::Starttls, config)) => {
                let tcp = self.starttls(tcp)?;
                let mut client = imap::Client::new(self.handshake(tcp, config)?);
                // The greeting came before STARTTLS.
                client.greeting_read = true;
                client
            }
            Some((_, config)) => {
                let mut client = imap::Client::new(self.handshake(tcp, config)?);
                client
                    .read_greeting()
                    .map_err(|e| ImapError::from_imap("the greeting", true, e))?;
                client
            }
        };
        let mut session = client
            .login(&self.username, &self.password.0)
            .map_err(|(e, _)| match ImapError::from_imap("LOGIN", false, e) {
                ImapError::Refused {
                    transient: false, ..
                } => ImapError::Auth,
                other => other,
            })?;
        let capabilities = session
            .capabilities()
            .map_err(|e| ImapError::from_imap("CAPABILITY", true, e))?;
        let has = |name: &str| capabilities.has_str(name);
        Ok(Conn {
            uidplus: has("UIDPLUS") || has("IMAP4rev2"),
            literal_plus: has("LITERAL+") || has("LITERAL-"),
            session,
        })
    }

    fn tcp(&self) -> Result<TcpStream, ImapError> {
        let fail = |e: io::Error| ImapError::Connect {
            address: self.address(),
            reason: e.to_string(),
        };
        let addresses = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(fail)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
        for address in addresses {
            match TcpStream::connect_timeout(&address, self.timeout) {
                Ok(tcp) => {
                    tcp.set_read_timeout(Some(self.timeout)).map_err(fail)?;
                    tcp.set_write_timeout(Some(self.timeout)).map_err(fail)?;
                    tcp.set_nodelay(true).map_err(fail)?;
                    return Ok(tcp);
                }
                Err(e) => last = e,
            }
        }
        Err(fail(last))
    }

    /// Reads the greeting and upgrades with STARTTLS, byte by byte so that nothing the
    /// server sends before the handshake is buffered and later taken for protected data.
    fn starttls(&self, mut tcp: TcpStream) -> Result<TcpStream, ImapError> {
        let broken = |e: io::Error| ImapError::Broken {
            command: "STARTTLS",
            reason: e.to_string(),
        };
        let greeting = read_line(&mut tcp).map_err(broken)?;
        if !greeting.starts_with(b"* OK") {
            return Err(ImapError::Refused {
                command: "the greeting",
                detail: Some(String::from_utf8_lossy(&greeting).trim().to_owned()),
                transient: true,
            });
        }
        tcp.write_all(b"S0 STARTTLS\r\n").map_err(broken)?;
        loop {
            let line = read_line(&mut tcp).map_err(broken)?;
            if line.starts_with(b"S0 OK") {
                return Ok(tcp);
            }
            if line.starts_with(b"S0 ") {
                return Err(ImapError::Tls {
                    address: self.address(),
                    reason: "the server does not offer STARTTLS (use tls = \"implicit\" \
                             with its IMAPS port)"
                        .to_owned(),
                });
            }
        }
    }

    fn handshake(
        &self,
        mut tcp: TcpStream,
        config: &Arc<ClientConfig>,
    ) -> Result<Stream, ImapError> {
        let tls_error = |reason: String| ImapError::Tls {
            address: self.address(),
            reason,
        };
        let name = ServerName::try_from(self.host.clone())
            .map_err(|_| tls_error("the host is not a valid TLS server name".to_owned()))?;
        let mut connection = ClientConnection::new(Arc::clone(config), name)
            .map_err(|e| tls_error(e.to_string()))?;
        while connection.is_handshaking() {
            connection.complete_io(&mut tcp).map_err(|e| {
                // rustls reports its own failures (certificates, protocol) as InvalidData.
                if e.kind() == io::ErrorKind::InvalidData {
                    tls_error(e.to_string())
                } else {
                    ImapError::Connect {
                        address: self.address(),
                        reason: format!("during the TLS handshake: {e}"),
                    }
                }
            })?;
        }
        Ok(Stream::Tls(Box::new(StreamOwned::new(connection, tcp))))
    }
}

/// One line from the server, CRLF included, at most 8 KiB.
fn read_line(tcp: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        if tcp.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        line.push(byte[0]);
        if line.len() > 8192 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a line from the server is too long",
            ));
        }
    }
    Ok(line)
}

/// The CA certificates to trust: `ca_file`'s, or the system's.
fn tls_config(ca_file: Option<&Path>) -> Result<ClientConfig, ConnectorError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let shown = path.display();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    ConnectorError::config("ca_file", format!("cannot read {shown}: {e}"))
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(ConnectorError::config(
                    "ca_file",
                    format!("{shown} holds no usable PEM certificate"),
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(ConnectorError::permanent(
                    "no CA certificates found in the system's store (install ca-certificates, \
                     or set ca_file)",
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectorError::permanent(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// A logged-in session and what the server can do.
pub struct Conn {
    /// The client library's session.
    pub session: Session<Stream>,
    /// UID EXPUNGE is available (UIDPLUS or IMAP4rev2).
    pub uidplus: bool,
    /// Non-synchronizing literals are available (LITERAL+ or LITERAL-).
    pub literal_plus: bool,
}

/// Logged-in sessions kept between calls.
pub struct Pool {
    endpoint: Endpoint,
    idle: Mutex<Vec<Conn>>,
}

impl Pool {
    /// A pool that connects on first use.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` on a logged-in session. A kept session that turns out to be broken (the
    /// server drops idle ones) is replaced and `work` runs again on a fresh one, so `work`
    /// must be idempotent — every operation of this connector is.
    pub fn with<T>(
        &self,
        mut work: impl FnMut(&mut Conn) -> Result<T, ImapError>,
    ) -> Result<T, ImapError> {
        // Not `if let Some(..) = self.idle().pop()`: the guard would live through the block.
        let kept = self.idle().pop();
        if let Some(mut conn) = kept {
            match work(&mut conn) {
                Err(e) if e.is_broken() => {
                    tracing::debug!("a kept IMAP session was broken; reconnecting");
                }
                result => {
                    self.give_back(conn);
                    return result;
                }
            }
        }
        let mut conn = self.endpoint.connect()?;
        let result = work(&mut conn);
        if !matches!(&result, Err(e) if e.is_broken()) {
            self.give_back(conn);
        }
        result
    }

    /// `host:port`.
    pub fn address(&self) -> String {
        self.endpoint.address()
    }

    fn give_back(&self, mut conn: Conn) {
        // Untagged answers nobody asked for (EXISTS, FLAGS of others' changes) pile up.
        conn.session.take_all_unsolicited().for_each(drop);
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Conn>> {
        self.idle.lock().unwrap_or_else(|poisoned| {
            // A panic mid-call may have left a session in any state: forget them all.
            self.idle.clear_poison();
            let mut guard = poisoned.into_inner();
            guard.clear();
            guard
        })
    }
}
