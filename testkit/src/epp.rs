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

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use quick_xml::events::{BytesText, Event};
use quick_xml::{Reader, Writer};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

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
        let tls = make_certificates(dir.path());
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

/// Writes the PEM files and returns the server's TLS configuration.
fn make_certificates(dir: &Path) -> Arc<ServerConfig> {
    let (ca_pem, ca) = make_ca("gallra testkit EPP CA");
    let (_, stranger) = make_ca("someone else's CA");
    let (server_cert, server_key) = leaf(
        &ca,
        vec!["localhost".into(), "127.0.0.1".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client_cert, client_key) = leaf(&ca, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth);
    let (other_cert, other_key) = leaf(&stranger, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth);
    write(dir, "ca.pem", &ca_pem, 0o644);
    write(dir, "client.pem", &client_cert.pem(), 0o644);
    write(dir, "client.key", &client_key.serialize_pem(), 0o600);
    write(dir, "untrusted-client.pem", &other_cert.pem(), 0o644);
    write(
        dir,
        "untrusted-client.key",
        &other_key.serialize_pem(),
        0o600,
    );
    write(dir, "password", &format!("{PASSWORD}\n"), 0o600);

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("PEM the testkit wrote"))
        .expect("the test CA is a CA");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .expect("client verifier");
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::from(server_key),
        )
        .expect("server certificate");
    Arc::new(config)
}

fn make_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key).expect("CA certificate").pem();
    (pem, Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("leaf key");
    let mut params = CertificateParams::new(names).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, "gallra testkit");
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).expect("leaf certificate");
    (cert, key)
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a test certificate");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .expect("chmod a test certificate");
    }
    #[cfg(not(unix))]
    let _ = mode;
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

#[derive(Default)]
struct Session {
    logged_in: bool,
    iis: bool,
    served: u64,
}

impl Session {
    /// The answer to one document, and whether to hang up after it.
    fn handle(&mut self, root: &Node, shared: &Shared) -> (Vec<u8>, bool) {
        if root.child("hello").is_some() {
            return (greeting(), false);
        }
        let Some(command) = root.child("command") else {
            return (
                response(2001, "Command syntax error", "", |_| Ok(())),
                false,
            );
        };
        let trid = command.text_of("clTRID").unwrap_or_default();
        let Some(verb) = command
            .children
            .iter()
            .find(|c| c.name != "clTRID" && c.name != "extension")
        else {
            return (
                response(2001, "Command syntax error", &trid, |_| Ok(())),
                false,
            );
        };
        let object = verb.children.first();
        let kind = match object {
            Some(o) if o.child("id").is_some() => "contact",
            Some(o) if o.child("name").is_some() => "domain",
            _ => "",
        };
        let label = if kind.is_empty() {
            verb.name.clone()
        } else {
            format!("{kind}:{}", verb.name)
        };
        let mut state = shared.state();
        state.commands.push(label.clone());
        self.served += 1;
        match (label.as_str(), object) {
            ("login", _) => (self.login(verb, &mut state, &trid), false),
            ("logout", _) => (
                response(
                    1500,
                    "Command completed successfully; ending session",
                    &trid,
                    |_| Ok(()),
                ),
                true,
            ),
            _ if !self.logged_in => (
                response(2002, "Command use error", &trid, |_| Ok(())),
                false,
            ),
            _ if state.fail_with.is_some() => {
                let code = state.fail_with.unwrap_or(2400);
                (
                    response(code, "Command failed", &trid, |_| Ok(())),
                    (2500..=2502).contains(&code),
                )
            }
            (_, Some(object)) => (
                self.object(&label, object, command, &mut state, &trid),
                false,
            ),
            _ => (response(2000, "Unknown command", &trid, |_| Ok(())), false),
        }
    }

    fn login(&mut self, login: &Node, state: &mut State, trid: &str) -> Vec<u8> {
        if self.logged_in {
            return response(2002, "Command use error: already logged in", trid, |_| {
                Ok(())
            });
        }
        let ok = login.text_of("clID").as_deref() == Some(USERNAME)
            && login.text_of("pw").as_deref() == Some(PASSWORD);
        if !ok {
            return response(2200, "Authentication error", trid, |_| Ok(()));
        }
        self.logged_in = true;
        self.iis = login
            .child("svcs")
            .and_then(|s| s.child("svcExtension"))
            .is_some_and(|e| e.children.iter().any(|u| u.text.trim() == IIS_NS));
        state.logins += 1;
        response(1000, "Command completed successfully", trid, |_| Ok(()))
    }

    fn object(
        &self,
        label: &str,
        object: &Node,
        command: &Node,
        state: &mut State,
        trid: &str,
    ) -> Vec<u8> {
        let ok = "Command completed successfully";
        match label {
            "contact:info" | "contact:update" | "contact:delete" => {
                let id = object.text_of("id").unwrap_or_default();
                if !state.contacts.contains_key(&id) {
                    return response(2303, &format!("Object does not exist: {id}"), trid, |_| {
                        Ok(())
                    });
                }
                let linked = state.domains.values().any(|uses| uses.contains(&id));
                match label {
                    "contact:info" => {
                        let contact = state.contacts[&id].clone();
                        response(1000, ok, trid, |w| {
                            contact_info(w, &id, &contact, linked, self.iis)
                        })
                    }
                    "contact:update" => match update_contact(
                        object,
                        command,
                        state.contacts.get_mut(&id).expect("checked"),
                    ) {
                        Ok(()) => response(1000, ok, trid, |_| Ok(())),
                        Err((code, msg)) => response(code, msg, trid, |_| Ok(())),
                    },
                    _ if linked => response(
                        2305,
                        &format!("Object association prohibits operation: {id} is linked"),
                        trid,
                        |_| Ok(()),
                    ),
                    _ => {
                        state.contacts.remove(&id);
                        response(1000, ok, trid, |_| Ok(()))
                    }
                }
            }
            "domain:info" | "domain:delete" | "domain:update" => {
                let name = object.text_of("name").unwrap_or_default().to_lowercase();
                let Some(uses) = state.domains.get(&name).cloned() else {
                    return response(
                        2303,
                        &format!("Object does not exist: {name}"),
                        trid,
                        |_| Ok(()),
                    );
                };
                let client_delete = command
                    .child("extension")
                    .and_then(|e| e.child("update"))
                    .and_then(|u| u.text_of("clientDelete"))
                    .is_some_and(|v| v == "1" || v == "true");
                match label {
                    "domain:info" => response(1000, ok, trid, |w| domain_info(w, &name, &uses)),
                    "domain:update" if !client_delete => response(1000, ok, trid, |_| Ok(())),
                    _ => {
                        state.domains.remove(&name);
                        response(1000, ok, trid, |_| Ok(()))
                    }
                }
            }
            _ => response(2101, "Unimplemented command", trid, |_| Ok(())),
        }
    }
}

/// Applies a `contact:update`'s `chg` the way RFC 5733 describes; the `.se` orgno is fixed.
fn update_contact(
    update: &Node,
    command: &Node,
    contact: &mut ContactData,
) -> Result<(), (u16, &'static str)> {
    let changes_orgno = command
        .child("extension")
        .and_then(|e| e.child("update"))
        .is_some_and(|u| u.child("orgno").is_some());
    if changes_orgno {
        return Err((
            2306,
            "Parameter value policy error: orgno cannot be changed",
        ));
    }
    if update.child("add").is_some() || update.child("rem").is_some() {
        return Err((2102, "Unimplemented option"));
    }
    let Some(chg) = update.child("chg") else {
        return Ok(());
    };
    let mut changed = contact.clone();
    if let Some(postal) = chg.child("postalInfo") {
        if let Some(name) = postal.text_of("name") {
            changed.name = name;
        }
        if postal.child("org").is_some() {
            changed.org = postal.text_of("org");
        }
        if let Some(addr) = postal.child("addr") {
            changed.street = addr
                .children
                .iter()
                .filter(|c| c.name == "street")
                .map(|s| s.text.trim().to_owned())
                .collect();
            changed.city = addr
                .text_of("city")
                .ok_or((2003, "Required parameter missing: city"))?;
            changed.sp = addr.text_of("sp");
            changed.pc = addr.text_of("pc");
            changed.cc = addr
                .text_of("cc")
                .ok_or((2003, "Required parameter missing: cc"))?;
        }
    }
    if chg.child("voice").is_some() {
        changed.voice = chg.text_of("voice");
    }
    if chg.child("fax").is_some() {
        changed.fax = chg.text_of("fax");
    }
    if chg.child("email").is_some() {
        let email = chg.text_of("email").unwrap_or_default();
        if !email.contains('@') {
            return Err((2005, "Parameter value syntax error: email"));
        }
        changed.email = email;
    }
    *contact = changed;
    Ok(())
}

type W<'a> = &'a mut Writer<Vec<u8>>;

fn text(w: W<'_>, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))
        .map(drop)
}

fn greeting() -> Vec<u8> {
    document(|w| {
        w.create_element("greeting").write_inner_content(|w| {
            text(w, "svID", "gallra testkit EPP server")?;
            text(w, "svDate", "2026-01-01T00:00:00.0Z")?;
            w.create_element("svcMenu").write_inner_content(|w| {
                text(w, "version", "1.0")?;
                text(w, "lang", "en")?;
                text(w, "objURI", CONTACT_NS)?;
                text(w, "objURI", DOMAIN_NS)?;
                w.create_element("svcExtension")
                    .write_inner_content(|w| text(w, "extURI", IIS_NS))?;
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(())
    })
}

fn document(body: impl FnOnce(W<'_>) -> io::Result<()>) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.write_event(Event::Decl(quick_xml::events::BytesDecl::new(
        "1.0",
        Some("UTF-8"),
        Some("no"),
    )))
    .and_then(|()| {
        w.create_element("epp")
            .with_attribute(("xmlns", EPP_NS))
            .write_inner_content(body)
            .map(drop)
    })
    .expect("writing into a Vec");
    w.into_inner()
}

fn response(
    code: u16,
    msg: &str,
    trid: &str,
    data: impl FnOnce(W<'_>) -> io::Result<()>,
) -> Vec<u8> {
    document(|w| {
        w.create_element("response").write_inner_content(|w| {
            w.create_element("result")
                .with_attribute(("code", code.to_string().as_str()))
                .write_inner_content(|w| text(w, "msg", msg))?;
            data(w)?;
            w.create_element("trID").write_inner_content(|w| {
                if !trid.is_empty() {
                    text(w, "clTRID", trid)?;
                }
                text(w, "svTRID", "TESTKIT-1")
            })?;
            Ok(())
        })?;
        Ok(())
    })
}

fn contact_info(w: W<'_>, id: &str, c: &ContactData, linked: bool, iis: bool) -> io::Result<()> {
    w.create_element("resData").write_inner_content(|w| {
        w.create_element("contact:infData")
            .with_attribute(("xmlns:contact", CONTACT_NS))
            .write_inner_content(|w| {
                text(w, "contact:id", id)?;
                text(w, "contact:roid", &format!("{id}-TESTKIT"))?;
                let status = if linked { "linked" } else { "ok" };
                w.create_element("contact:status")
                    .with_attribute(("s", status))
                    .write_empty()?;
                w.create_element("contact:postalInfo")
                    .with_attribute(("type", "int"))
                    .write_inner_content(|w| {
                        text(w, "contact:name", &c.name)?;
                        if let Some(org) = &c.org {
                            text(w, "contact:org", org)?;
                        }
                        w.create_element("contact:addr").write_inner_content(|w| {
                            for street in &c.street {
                                text(w, "contact:street", street)?;
                            }
                            text(w, "contact:city", &c.city)?;
                            for (name, value) in [("contact:sp", &c.sp), ("contact:pc", &c.pc)] {
                                if let Some(value) = value {
                                    text(w, name, value)?;
                                }
                            }
                            text(w, "contact:cc", &c.cc)
                        })?;
                        Ok(())
                    })?;
                for (name, value) in [("contact:voice", &c.voice), ("contact:fax", &c.fax)] {
                    if let Some(value) = value {
                        text(w, name, value)?;
                    }
                }
                text(w, "contact:email", &c.email)?;
                text(w, "contact:clID", USERNAME)?;
                text(w, "contact:crID", USERNAME)?;
                text(w, "contact:crDate", "2024-01-01T00:00:00.0Z")
            })?;
        Ok(())
    })?;
    if let (true, Some(orgno)) = (iis, &c.orgno) {
        w.create_element("extension").write_inner_content(|w| {
            w.create_element("iis:infData")
                .with_attribute(("xmlns:iis", IIS_NS))
                .write_inner_content(|w| text(w, "iis:orgno", orgno))?;
            Ok(())
        })?;
    }
    Ok(())
}

fn domain_info(w: W<'_>, name: &str, uses: &[String]) -> io::Result<()> {
    w.create_element("resData").write_inner_content(|w| {
        w.create_element("domain:infData")
            .with_attribute(("xmlns:domain", DOMAIN_NS))
            .write_inner_content(|w| {
                text(w, "domain:name", name)?;
                w.create_element("domain:status")
                    .with_attribute(("s", "ok"))
                    .write_empty()?;
                if let Some(registrant) = uses.first() {
                    text(w, "domain:registrant", registrant)?;
                }
                text(w, "domain:clID", USERNAME)
            })?;
        Ok(())
    })?;
    Ok(())
}

/// An element by local name, for reading commands.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// A child's trimmed text; `None` if missing or empty.
    fn text_of(&self, name: &str) -> Option<String> {
        let text = self.child(name)?.text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }
}

/// Parses a command; `None` for anything that is not well-formed XML with one root.
fn parse(document: &[u8]) -> Option<Node> {
    let mut reader = Reader::from_str(std::str::from_utf8(document).ok()?);
    let mut open: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        let finished = match reader.read_event().ok()? {
            Event::Start(s) => {
                open.push(Node {
                    name: String::from_utf8(s.local_name().as_ref().to_vec()).ok()?,
                    ..Node::default()
                });
                None
            }
            Event::Empty(s) => Some(Node {
                name: String::from_utf8(s.local_name().as_ref().to_vec()).ok()?,
                ..Node::default()
            }),
            Event::End(_) => Some(open.pop()?),
            Event::Text(t) => {
                open.last_mut()?.text.push_str(&t.decode().ok()?);
                None
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().ok()? {
                    Some(c) => c.to_string(),
                    None => {
                        quick_xml::escape::resolve_predefined_entity(&r.decode().ok()?)?.to_owned()
                    }
                };
                open.last_mut()?.text.push_str(&resolved);
                None
            }
            Event::Eof => break,
            _ => None,
        };
        if let Some(node) = finished {
            match open.last_mut() {
                Some(parent) => parent.children.push(node),
                None => root = Some(node),
            }
        }
    }
    open.is_empty().then_some(root?)
}
