//! One EPP session over TLS: connect, greeting, login, commands, logout (RFC 5730, 5734).
//!
//! Errors are classified here, close to their cause: a refused connection or a 2400/25xx
//! answer is worth retrying, a refused client certificate or a 2200 is not. None of them
//! carries the registry's `<msg>`, which may quote the object or value.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{AlertDescription, ClientConfig, ClientConnection, StreamOwned};

use crate::codes::{self, Class};
use crate::commands;
use crate::frame::{self, FrameError};
use crate::xml::{self, Element, XmlError};

/// Where and how to log in; built once when the connector opens.
pub struct Endpoint {
    /// Host as configured (for messages; it is not personal data).
    pub host: String,
    /// Port.
    pub port: u16,
    /// The name the server's certificate must carry.
    pub server_name: ServerName<'static>,
    /// CA roots and client certificate.
    pub tls: Arc<ClientConfig>,
    /// Connect and read/write timeout.
    pub timeout: Duration,
    /// clID.
    pub username: String,
    /// pw.
    pub password: String,
    /// Announce the `.se`/`.nu` extension at login.
    pub iis: bool,
}

/// Why an EPP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum EppError {
    /// The host could not be resolved or reached.
    #[error("cannot connect to {0}: {1}")]
    Connect(String, io::Error),
    /// The server refused our client certificate (or we sent none).
    #[error("the registry refused the client certificate (TLS alert {0:?}); check client_cert_file and client_key_file, and that the registry has the certificate on file")]
    ClientCertificate(AlertDescription),
    /// The server's certificate did not check out against the configured roots.
    #[error("the registry's TLS certificate is not trusted: {0}; check ca_file and host")]
    ServerCertificate(rustls::Error),
    /// TLS failed in another way.
    #[error("TLS failed: {0}")]
    Tls(rustls::Error),
    /// The connection broke or timed out after it was set up.
    #[error("the connection broke: {0}")]
    Io(io::Error),
    /// The server sent a frame length out of range.
    #[error("{0}; is this an EPP server (check host and port)?")]
    Frame(FrameError),
    /// The answer is not XML.
    #[error("the registry's answer is not XML ({0})")]
    Xml(XmlError),
    /// The answer is XML but not the EPP we expected.
    #[error("the registry's answer to {0} is not EPP: {1}")]
    Protocol(&'static str, &'static str),
    /// A result code that is neither success nor one the caller handles.
    #[error("{command}: the registry answered {code} ({description}); {remedy}", description = codes::describe(*code), remedy = codes::remedy(*code))]
    Code {
        /// The command, e.g. `contact:delete`.
        command: &'static str,
        /// The result code.
        code: u16,
    },
}

impl EppError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect(..) | Self::Io(_) => true,
            Self::Tls(e) => !matches!(e, rustls::Error::PeerIncompatible(_)),
            Self::Code { code, .. } => codes::classify(*code) == Class::Transient,
            _ => false,
        }
    }

    /// Whether the session cannot be used after this.
    pub fn breaks_session(&self) -> bool {
        match self {
            Self::Code { code, .. } => codes::closes_session(*code),
            _ => true,
        }
    }

    /// Whether this is the sign of a session the server dropped while we were idle, which a
    /// fresh session may not see.
    pub fn is_stale_session(&self) -> bool {
        matches!(self, Self::Io(_))
            || matches!(self, Self::Code { code, .. } if codes::closes_session(*code))
    }

    fn from_io(error: io::Error) -> Self {
        if let Some(tls) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Self::from_tls(tls.clone());
        }
        if let Some(frame) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<FrameError>())
        {
            return Self::Frame(frame.clone());
        }
        Self::Io(error)
    }

    fn from_tls(error: rustls::Error) -> Self {
        use AlertDescription as A;
        match error {
            rustls::Error::AlertReceived(
                alert @ (A::CertificateRequired
                | A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::UnknownCA
                | A::AccessDenied),
            ) => Self::ClientCertificate(alert),
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                Self::ServerCertificate(error)
            }
            other => Self::Tls(other),
        }
    }
}

/// An answer the caller gets to look at: success, or a code it asked to handle.
pub struct Reply {
    /// The result code.
    pub code: u16,
    /// The `<response>` element.
    pub response: Element,
}

/// A logged-in EPP session.
pub struct Session {
    stream: StreamOwned<ClientConnection, TcpStream>,
    next_trid: u64,
    logged_in: bool,
}

impl Session {
    /// Connects, reads the greeting and logs in.
    pub fn open(endpoint: &Endpoint) -> Result<Session, EppError> {
        let where_ = format!("{}:{}", endpoint.host, endpoint.port);
        let tcp = connect(&where_, endpoint.port, &endpoint.host, endpoint.timeout)
            .map_err(|e| EppError::Connect(where_.clone(), e))?;
        tcp.set_read_timeout(Some(endpoint.timeout))
            .and_then(|()| tcp.set_write_timeout(Some(endpoint.timeout)))
            .and_then(|()| tcp.set_nodelay(true))
            .map_err(|e| EppError::Connect(where_, e))?;
        let tls = ClientConnection::new(endpoint.tls.clone(), endpoint.server_name.clone())
            .map_err(EppError::from_tls)?;
        let mut session = Session {
            stream: StreamOwned::new(tls, tcp),
            next_trid: 1,
            logged_in: false,
        };
        // The TLS handshake happens on this first read; a refused client certificate shows
        // up here as an alert.
        session.expect_greeting("the greeting")?;
        let trid = session.trid();
        let login = commands::login(&trid, &endpoint.username, &endpoint.password, endpoint.iis);
        session.exchange("login", &login, &[])?;
        session.logged_in = true;
        Ok(session)
    }

    /// Sends `<hello/>` and checks a greeting comes back: the session is alive.
    pub fn hello(&mut self) -> Result<(), EppError> {
        frame::write_frame(&mut self.stream, &commands::hello()).map_err(EppError::from_io)?;
        self.expect_greeting("hello")
    }

    /// Sends a command built with a fresh transaction id. A 1xxx code, or one of `accept`,
    /// comes back as a [`Reply`]; every other code is an error.
    pub fn send(
        &mut self,
        command: &'static str,
        accept: &[Class],
        build: impl FnOnce(&str) -> Vec<u8>,
    ) -> Result<Reply, EppError> {
        let trid = self.trid();
        let document = build(&trid);
        self.exchange(command, &document, accept)
    }

    fn exchange(
        &mut self,
        command: &'static str,
        document: &[u8],
        accept: &[Class],
    ) -> Result<Reply, EppError> {
        frame::write_frame(&mut self.stream, document).map_err(EppError::from_io)?;
        let root = self.read(command)?;
        let response = root
            .children
            .into_iter()
            .find(|c| c.name == "response")
            .ok_or(EppError::Protocol(command, "no <response>"))?;
        let code = response
            .child("result")
            .and_then(|r| r.attribute("code"))
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or(EppError::Protocol(command, "no result code"))?;
        let class = codes::classify(code);
        if class == Class::Success || accept.contains(&class) {
            Ok(Reply { code, response })
        } else {
            Err(EppError::Code { command, code })
        }
    }

    fn expect_greeting(&mut self, what: &'static str) -> Result<(), EppError> {
        let root = self.read(what)?;
        if root.child("greeting").is_none() {
            return Err(EppError::Protocol(what, "no <greeting>"));
        }
        Ok(())
    }

    fn read(&mut self, what: &'static str) -> Result<Element, EppError> {
        let payload = frame::read_frame(&mut self.stream).map_err(EppError::from_io)?;
        let root = xml::parse(&payload).map_err(EppError::Xml)?;
        if root.name != "epp" {
            return Err(EppError::Protocol(what, "the root element is not <epp>"));
        }
        Ok(root)
    }

    fn trid(&mut self) -> String {
        let trid = format!("gallra-{}-{}", std::process::id(), self.next_trid);
        self.next_trid += 1;
        trid
    }
}

impl Drop for Session {
    /// Logs out politely, without letting a dead server hold us up for long.
    fn drop(&mut self) {
        if !self.logged_in {
            return;
        }
        let short = Some(Duration::from_secs(2));
        let tcp = self.stream.get_ref();
        if tcp.set_read_timeout(short).is_err() || tcp.set_write_timeout(short).is_err() {
            return;
        }
        let trid = self.trid();
        let _ = self.exchange("logout", &commands::logout(&trid), &[]);
        self.stream.conn.send_close_notify();
        let _ = self.stream.conn.complete_io(&mut self.stream.sock);
    }
}

fn connect(where_: &str, port: u16, host: &str, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("{where_} resolves to no address"),
    );
    for address in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}
