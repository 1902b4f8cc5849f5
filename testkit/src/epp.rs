//! A domain registry's EPP server (RFC 5730 commands, RFC 5733 contacts, RFC 5734 TLS
//! transport), for the `epp` connector's tests and the end-to-end tests.
//!
//! It speaks the framing (a 4-byte big-endian length that counts itself), sends a greeting,
//! checks `clID`/`pw` at login, and answers `contact:info|update|delete`, `domain:info`,
//! `domain:delete` and Internetstiftelsen's domain deletion (`domain:update` with
//! `iis:clientDelete` = 1). It keeps the registry's rule that matters to gallra: a contact a
//! domain still uses is `linked` and its delete answers **2305**. Like real registries, its
//! error `<msg>` quotes the object id, so a connector that echoes it gets caught.
//!
//! TLS is real and mutual: [`EppServer::start`] makes a CA, a server certificate for
//! `127.0.0.1`/`localhost` and a client certificate, writes them as PEM files into a temp
//! dir, and refuses a client that shows no certificate signed by that CA.
//!
//! ```no_run
//! use gallra_testkit::epp::{ContactData, EppServer};
//! let registry = EppServer::start();
//! registry.add_contact("GALLRA-1001", ContactData::person("Anna Svensson", "anna@example.se"));
//! registry.add_domain("example.se", "GALLRA-1001");
//! // settings: host = "127.0.0.1", port = registry.port(), ca_file = registry.ca_pem_path(), …
//! registry.remove_domain("example.se");
//! assert!(registry.contact("GALLRA-1001").is_some());
//! ```

mod certs;
mod registry;
mod xml;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use self::registry::Session;
use self::xml::{greeting, parse, response};

const EPP_NS: &str = "urn:ietf:params:xml:ns:epp-1.0";
const CONTACT_NS: &str = "urn:ietf:params:xml:ns:contact-1.0";
const DOMAIN_NS: &str = "urn:ietf:params:xml:ns:domain-1.0";
const IIS_NS: &str = "urn:se:iis:xml:epp:iis-1.2";
const MAX_FRAME: usize = 1024 * 1024;

/// A contact as the registry holds it (one postal info).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactData {
    /// Name.
    pub name: String,
    /// Organisation.
    pub org: Option<String>,
    /// Street lines.
    pub street: Vec<String>,
    /// City.
    pub city: String,
    /// State or province.
    pub sp: Option<String>,
    /// Postal code.
    pub pc: Option<String>,
    /// Country code.
    pub cc: String,
    /// Phone, `+46.701234567`.
    pub voice: Option<String>,
    /// Fax.
    pub fax: Option<String>,
    /// Email.
    pub email: String,
    /// `.se`: personnummer or organisation number, `[SE]YYMMDD-NNNN`. Cannot be updated.
    pub orgno: Option<String>,
}

impl ContactData {
    /// A private person in Stockholm with a phone number.
    pub fn person(name: &str, email: &str) -> Self {
        Self {
            name: name.to_owned(),
            street: vec!["Storgatan 1".to_owned()],
            city: "Stockholm".to_owned(),
            pc: Some("111 22".to_owned()),
            cc: "SE".to_owned(),
            voice: Some("+46.701234567".to_owned()),
            email: email.to_owned(),
            ..Self::default()
        }
    }
}

/// The test user (`clID`) the server accepts.
pub const USERNAME: &str = "gallra-test";
/// Its password, also in [`EppServer::password_file_path`].
pub const PASSWORD: &str = "correct-horse-7";

#[derive(Default)]
struct State {
    contacts: BTreeMap<String, ContactData>,
    /// Domain name → the contacts it uses (registrant first).
    domains: BTreeMap<String, Vec<String>>,
    /// Answer every command after login with this code.
    fail_with: Option<u16>,
    /// Send this length in the greeting's header instead of the real one.
    greeting_length: Option<u32>,
    /// `contact:delete`, `login`, … in arrival order.
    commands: Vec<String>,
    logins: u64,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped to make open sessions hang up at their next command.
    generation: AtomicU64,
    stopping: AtomicBool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running EPP test server on 127.0.0.1; stops when dropped.
pub struct EppServer {
    port: u16,
    dir: tempfile::TempDir,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl EppServer {
    /// Makes the certificates and starts listening on a free port.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the EPP test certificates");
        let tls = certs::make_certificates(dir.path());
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            generation: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        });
        let accept = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (shared, tls) = (shared.clone(), tls.clone());
                    std::thread::spawn(move || serve(stream, tls, shared));
                }
            })
        };
        Self {
            port,
            dir,
            shared,
            accept: Some(accept),
        }
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA that signed the server and client certificates (settings' `ca_file`).
    pub fn ca_pem_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The client certificate the server accepts.
    pub fn client_cert_path(&self) -> PathBuf {
        self.dir.path().join("client.pem")
    }

    /// Its private key (mode 600).
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.path().join("client.key")
    }

    /// A client certificate from another CA, which the server refuses.
    pub fn untrusted_client_cert_path(&self) -> PathBuf {
        self.dir.path().join("untrusted-client.pem")
    }

    /// Its private key (mode 600).
    pub fn untrusted_client_key_path(&self) -> PathBuf {
        self.dir.path().join("untrusted-client.key")
    }

    /// A file (mode 600) holding [`PASSWORD`].
    pub fn password_file_path(&self) -> PathBuf {
        self.dir.path().join("password")
    }

    /// Adds or replaces a contact.
    pub fn add_contact(&self, id: &str, data: ContactData) {
        self.shared.state().contacts.insert(id.to_owned(), data);
    }

    /// Adds a domain whose registrant is `registrant_id`, which makes that contact linked.
    pub fn add_domain(&self, name: &str, registrant_id: &str) {
        let mut state = self.shared.state();
        state
            .domains
            .insert(name.to_owned(), vec![registrant_id.to_owned()]);
    }

    /// Removes a domain (as its deletion at the registry would).
    pub fn remove_domain(&self, name: &str) {
        self.shared.state().domains.remove(name);
    }

    /// Whether the domain exists.
    pub fn domain_exists(&self, name: &str) -> bool {
        self.shared.state().domains.contains_key(name)
    }

    /// The contact as the registry holds it now.
    pub fn contact(&self, id: &str) -> Option<ContactData> {
        self.shared.state().contacts.get(id).cloned()
    }

    /// Every command received so far (`login`, `contact:delete`, …), in order.
    pub fn commands(&self) -> Vec<String> {
        self.shared.state().commands.clone()
    }

    /// How many logins succeeded.
    pub fn logins(&self) -> u64 {
        self.shared.state().logins
    }

    /// Answers every command after login with `code` (e.g. 2400, 2502), or normally again.
    pub fn fail_commands_with(&self, code: Option<u16>) {
        self.shared.state().fail_with = code;
    }

    /// Puts `length` in the greeting's frame header instead of the real length.
    pub fn set_greeting_length(&self, length: Option<u32>) {
        self.shared.state().greeting_length = length;
    }

    /// Makes every open session hang up at its next command, as a registry does with idle
    /// sessions.
    pub fn drop_sessions(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for EppServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.drop_sessions();
        // Wake the accept loop.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

type Tls = StreamOwned<ServerConnection, TcpStream>;

/// One connection: handshake, greeting, then commands until logout or hang-up.
fn serve(tcp: TcpStream, tls: Arc<ServerConfig>, shared: Arc<Shared>) {
    let timeout = Some(Duration::from_secs(30));
    if tcp.set_read_timeout(timeout).is_err() || tcp.set_write_timeout(timeout).is_err() {
        return;
    }
    let Ok(conn) = ServerConnection::new(tls) else {
        return;
    };
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        // A missing or foreign client certificate fails here; rustls sends the alert.
        if stream.conn.complete_io(&mut stream.sock).is_err() {
            return;
        }
    }
    let generation = shared.generation.load(Ordering::SeqCst);
    let greeting_length = shared.state().greeting_length;
    if let Some(length) = greeting_length {
        let _ = stream.write_all(&length.to_be_bytes());
        let _ = stream.write_all(b"<epp/>");
        let _ = stream.flush();
        return;
    }
    if write_frame(&mut stream, &greeting()).is_err() {
        return;
    }
    let mut session = Session::default();
    while let Ok(payload) = read_frame(&mut stream) {
        if shared.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let (answer, close) = match parse(&payload) {
            Some(root) => session.handle(&root, &shared),
            None => (
                response(2001, "Command syntax error", "", |_| Ok(())),
                false,
            ),
        };
        if write_frame(&mut stream, &answer).is_err() || close {
            stream.conn.send_close_notify();
            let _ = stream.flush();
            return;
        }
    }
}

fn read_frame(stream: &mut Tls) -> io::Result<Vec<u8>> {
    let mut header = [0; 4];
    stream.read_exact(&mut header)?;
    let length = u32::from_be_bytes(header) as usize;
    if !(4..=MAX_FRAME).contains(&length) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame length"));
    }
    let mut payload = vec![0; length - 4];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

fn write_frame(stream: &mut Tls, payload: &[u8]) -> io::Result<()> {
    let length = u32::try_from(payload.len() + 4).expect("small frame");
    stream.write_all(&length.to_be_bytes())?;
    stream.write_all(payload)?;
    stream.flush()
}
