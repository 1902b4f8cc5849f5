//! The registry's rules: login, contacts, domains, and the linked-contact rule (2305).

use super::xml::{contact_info, domain_info, greeting, response, Node};
use super::{ContactData, Shared, State, IIS_NS, PASSWORD, USERNAME};

#[derive(Default)]
pub(super) struct Session {
    logged_in: bool,
    iis: bool,
}

impl Session {
    /// The answer to one document, and whether to hang up after it.
    pub(super) fn handle(&mut self, root: &Node, shared: &Shared) -> (Vec<u8>, bool) {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64};
    use std::sync::Mutex;

    use super::super::xml::parse;
    use super::*;

    fn registry() -> Shared {
        let shared = Shared {
            state: Mutex::new(State::default()),
            generation: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        };
        let mut contact = ContactData::person("Anna", "anna@example.se");
        contact.orgno = Some("[SE]811218-9876".into());
        shared.state().contacts.insert("C1".into(), contact);
        shared
            .state()
            .domains
            .insert("anna.se".into(), vec!["C1".into()]);
        shared
    }

    /// Sends a command body (inside `<command>`) and returns the result code and message.
    fn send(session: &mut Session, shared: &Shared, body: &str) -> (u16, String) {
        let doc = format!(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{body}<clTRID>t</clTRID></command></epp>"#
        );
        let (answer, _) = session.handle(&parse(doc.as_bytes()).unwrap(), shared);
        let root = parse(&answer).unwrap();
        let result = root.child("response").unwrap().child("result").unwrap();
        let code = String::from_utf8(answer.clone()).unwrap();
        let code = code
            .split("code=\"")
            .nth(1)
            .and_then(|rest| rest.get(..4))
            .unwrap()
            .parse()
            .unwrap();
        (code, result.text_of("msg").unwrap_or_default())
    }

    const LOGIN: &str = "<login><clID>gallra-test</clID><pw>correct-horse-7</pw><svcs>\
        <svcExtension><extURI>urn:se:iis:xml:epp:iis-1.2</extURI></svcExtension></svcs></login>";
    const C: &str = r#"xmlns:contact="urn:ietf:params:xml:ns:contact-1.0""#;
    const D: &str = r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0""#;

    #[test]
    fn a_linked_contact_is_deleted_only_after_its_domain() {
        let shared = registry();
        let mut s = Session::default();
        let delete = format!(
            "<delete><contact:delete {C}><contact:id>C1</contact:id></contact:delete></delete>"
        );
        assert_eq!(send(&mut s, &shared, &delete).0, 2002, "before login");
        let wrong = LOGIN.replace("correct-horse-7", "nope");
        assert_eq!(send(&mut s, &shared, &wrong).0, 2200);
        assert_eq!(send(&mut s, &shared, LOGIN).0, 1000);

        let (code, msg) = send(&mut s, &shared, &delete);
        assert_eq!(code, 2305);
        assert!(
            msg.contains("C1"),
            "like real registries, the msg quotes the id"
        );

        let orgno = format!(
            "<update><contact:update {C}><contact:id>C1</contact:id></contact:update></update>\
             <extension><iis:update xmlns:iis=\"urn:se:iis:xml:epp:iis-1.2\">\
             <iis:orgno>[SE]000000-0000</iis:orgno></iis:update></extension>"
        );
        assert_eq!(send(&mut s, &shared, &orgno).0, 2306);

        let info = format!(
            "<info><domain:info {D}><domain:name>anna.se</domain:name></domain:info></info>"
        );
        assert_eq!(send(&mut s, &shared, &info).0, 1000);
        let client_delete = format!(
            "<update><domain:update {D}><domain:name>anna.se</domain:name></domain:update></update>\
             <extension><iis:update xmlns:iis=\"urn:se:iis:xml:epp:iis-1.2\">\
             <iis:clientDelete>1</iis:clientDelete></iis:update></extension>"
        );
        assert_eq!(send(&mut s, &shared, &client_delete).0, 1000);
        assert_eq!(send(&mut s, &shared, &info).0, 2303);

        assert_eq!(send(&mut s, &shared, &delete).0, 1000);
        assert_eq!(send(&mut s, &shared, &delete).0, 2303);
        assert_eq!(send(&mut s, &shared, "<logout/>").0, 1500);
    }
}
