//! The EPP commands the connector sends (RFC 5730 login/logout, RFC 5733 contact
//! info/update/delete) and the contact it reads back, with the `.se`/`.nu` extension's
//! `orgno`.
//!
//! Every value goes through quick-xml's escaping writer; nothing is pasted into XML text.

use quick_xml::events::{BytesDecl, Event};
use quick_xml::Writer;

use crate::xml::{text_element, Element};

/// The EPP base namespace.
pub const EPP_NS: &str = "urn:ietf:params:xml:ns:epp-1.0";
/// RFC 5733 contacts.
pub const CONTACT_NS: &str = "urn:ietf:params:xml:ns:contact-1.0";
/// RFC 5731 domains (announced at login: some registries refuse a session without it).
pub const DOMAIN_NS: &str = "urn:ietf:params:xml:ns:domain-1.0";
/// Internetstiftelsen's extension for `.se` and `.nu`.
pub const IIS_NS: &str = "urn:se:iis:xml:epp:iis-1.2";

/// The name written over a contact's postal name.
pub const ANONYMIZED_NAME: &str = "Anonymized";

type XmlResult = std::io::Result<()>;

/// An EPP `<command>` with the given body and client transaction id.
fn command(trid: &str, body: impl FnOnce(&mut Writer<Vec<u8>>) -> XmlResult) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    let written: XmlResult = (|| {
        writer.write_event(Event::Decl(BytesDecl::new(
            "1.0",
            Some("UTF-8"),
            Some("no"),
        )))?;
        writer
            .create_element("epp")
            .with_attribute(("xmlns", EPP_NS))
            .write_inner_content(|w| {
                w.create_element("command").write_inner_content(|w| {
                    body(w)?;
                    text_element(w, "clTRID", trid)
                })?;
                Ok(())
            })?;
        Ok(())
    })();
    // Writing into a Vec cannot fail.
    debug_assert!(written.is_ok());
    writer.into_inner()
}

/// `<login>` with the services this connector uses.
pub fn login(trid: &str, client_id: &str, password: &str, iis: bool) -> Vec<u8> {
    command(trid, |w| {
        w.create_element("login").write_inner_content(|w| {
            text_element(w, "clID", client_id)?;
            text_element(w, "pw", password)?;
            w.create_element("options").write_inner_content(|w| {
                text_element(w, "version", "1.0")?;
                text_element(w, "lang", "en")
            })?;
            w.create_element("svcs").write_inner_content(|w| {
                text_element(w, "objURI", CONTACT_NS)?;
                text_element(w, "objURI", DOMAIN_NS)?;
                if iis {
                    w.create_element("svcExtension")
                        .write_inner_content(|w| text_element(w, "extURI", IIS_NS))?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(())
    })
}

/// `<hello/>`, which the server answers with its greeting (no `<command>` around it).
pub fn hello() -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    let written = writer
        .write_event(Event::Decl(BytesDecl::new(
            "1.0",
            Some("UTF-8"),
            Some("no"),
        )))
        .and_then(|()| {
            writer
                .create_element("epp")
                .with_attribute(("xmlns", EPP_NS))
                .write_inner_content(|w| w.create_element("hello").write_empty().map(drop))
                .map(drop)
        });
    debug_assert!(written.is_ok());
    writer.into_inner()
}

/// `<logout/>`.
pub fn logout(trid: &str) -> Vec<u8> {
    command(trid, |w| w.create_element("logout").write_empty().map(drop))
}

/// A contact command (`info`, `delete`) that names only the contact's id.
fn contact_by_id(trid: &str, verb: &str, id: &str) -> Vec<u8> {
    command(trid, |w| {
        w.create_element(verb).write_inner_content(|w| {
            w.create_element(format!("contact:{verb}"))
                .with_attribute(("xmlns:contact", CONTACT_NS))
                .write_inner_content(|w| text_element(w, "contact:id", id))?;
            Ok(())
        })?;
        Ok(())
    })
}

/// `<info><contact:info>`.
pub fn contact_info(trid: &str, id: &str) -> Vec<u8> {
    contact_by_id(trid, "info", id)
}

/// `<delete><contact:delete>`.
pub fn contact_delete(trid: &str, id: &str) -> Vec<u8> {
    contact_by_id(trid, "delete", id)
}

/// `<update><contact:update>` that overwrites everything a registry lets a registrar change:
/// every postal info's name, organisation and address (the country stays, registries check
/// it against the registrant's other data), voice and fax removed, the email replaced by
/// `email`. The `.se` `orgno` cannot be changed and is not sent.
pub fn contact_anonymize(trid: &str, id: &str, current: &Contact, email: &str) -> Vec<u8> {
    let mut kinds: Vec<(&str, &str)> = current
        .postal
        .iter()
        .map(|p| (p.kind.as_str(), p.cc.as_deref().unwrap_or("")))
        .collect();
    if kinds.is_empty() {
        kinds.push(("int", ""));
    }
    command(trid, |w| {
        w.create_element("update").write_inner_content(|w| {
            w.create_element("contact:update")
                .with_attribute(("xmlns:contact", CONTACT_NS))
                .write_inner_content(|w| {
                    text_element(w, "contact:id", id)?;
                    w.create_element("contact:chg").write_inner_content(|w| {
                        for (kind, cc) in &kinds {
                            anonymous_postal_info(w, kind, cc)?;
                        }
                        w.create_element("contact:voice").write_empty()?;
                        w.create_element("contact:fax").write_empty()?;
                        text_element(w, "contact:email", email)
                    })?;
                    Ok(())
                })?;
            Ok(())
        })?;
        Ok(())
    })
}

fn anonymous_postal_info(w: &mut Writer<Vec<u8>>, kind: &str, cc: &str) -> XmlResult {
    w.create_element("contact:postalInfo")
        .with_attribute(("type", kind))
        .write_inner_content(|w| {
            text_element(w, "contact:name", ANONYMIZED_NAME)?;
            w.create_element("contact:org").write_empty()?;
            w.create_element("contact:addr").write_inner_content(|w| {
                text_element(w, "contact:street", ANONYMIZED_NAME)?;
                text_element(w, "contact:city", ANONYMIZED_NAME)?;
                text_element(w, "contact:cc", cc)
            })?;
            Ok(())
        })?;
    Ok(())
}

/// One `<contact:postalInfo>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostalInfo {
    /// `int` (ASCII) or `loc` (localized).
    pub kind: String,
    /// The person's or role's name.
    pub name: Option<String>,
    /// Organisation.
    pub org: Option<String>,
    /// Up to three street lines.
    pub street: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub sp: Option<String>,
    /// Postal code.
    pub pc: Option<String>,
    /// Country code.
    pub cc: Option<String>,
}

/// A contact as `contact:info` returns it: the fields that are personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Postal infos, `int` first as the registry lists them.
    pub postal: Vec<PostalInfo>,
    /// Phone.
    pub voice: Option<String>,
    /// Fax.
    pub fax: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// `.se`/`.nu`: personnummer or organisation number (`[SE]YYMMDD-NNNN`).
    pub orgno: Option<String>,
    /// `.se`/`.nu`: VAT number.
    pub vatno: Option<String>,
}

impl Contact {
    /// Reads a contact from a `contact:info` response (the `<response>` element).
    pub fn from_response(response: &Element) -> Option<Contact> {
        let info = response.at(&["resData", "infData"])?;
        let postal = info
            .children_named("postalInfo")
            .map(|p| {
                let addr = p.child("addr");
                let field = |name: &str| addr.and_then(|a| a.child_text(name));
                PostalInfo {
                    kind: p.attribute("type").unwrap_or("int").to_owned(),
                    name: p.child_text("name"),
                    org: p.child_text("org"),
                    street: addr
                        .into_iter()
                        .flat_map(|a| a.children_named("street"))
                        .map(|s| s.text.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                    city: field("city"),
                    sp: field("sp"),
                    pc: field("pc"),
                    cc: field("cc"),
                }
            })
            .collect();
        let iis = response.at(&["extension", "infData"]);
        Some(Contact {
            postal,
            voice: info.child_text("voice"),
            fax: info.child_text("fax"),
            email: info.child_text("email"),
            orgno: iis.and_then(|i| i.child_text("orgno")),
            vatno: iis.and_then(|i| i.child_text("vatno")),
        })
    }

    /// The contact's fields as (name, value) pairs for an export. The first postal info's
    /// fields have plain names (`name`, `city`); further ones are prefixed with their type
    /// (`loc.name`).
    pub fn fields(&self) -> Vec<(String, Option<String>)> {
        let mut fields = Vec::new();
        for (i, p) in self.postal.iter().enumerate() {
            let prefix = if i == 0 {
                String::new()
            } else {
                format!("{}.", p.kind)
            };
            let street = (!p.street.is_empty()).then(|| p.street.join("\n"));
            for (name, value) in [
                ("name", &p.name),
                ("org", &p.org),
                ("street", &street),
                ("city", &p.city),
                ("sp", &p.sp),
                ("pc", &p.pc),
                ("cc", &p.cc),
            ] {
                fields.push((format!("{prefix}{name}"), value.clone()));
            }
        }
        for (name, value) in [
            ("voice", &self.voice),
            ("fax", &self.fax),
            ("email", &self.email),
        ] {
            fields.push((name.to_owned(), value.clone()));
        }
        for (name, value) in [("orgno", &self.orgno), ("vatno", &self.vatno)] {
            if value.is_some() {
                fields.push((name.to_owned(), value.clone()));
            }
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse;

    fn text(doc: &[u8]) -> String {
        String::from_utf8(doc.to_vec()).unwrap()
    }

    #[test]
    fn values_are_escaped_not_pasted() {
        let doc = contact_info("t1", "A<b>&\"c");
        let root = parse(&doc).unwrap();
        let id = root.at(&["command", "info", "info", "id"]).unwrap();
        assert_eq!(id.text, "A<b>&\"c");
        assert!(!text(&doc).contains("<b>"));
    }

    #[test]
    fn login_announces_the_iis_extension_only_when_configured() {
        let with = text(&login("t", "reg", "pw", true));
        let without = text(&login("t", "reg", "pw", false));
        assert!(with.contains(IIS_NS) && !without.contains(IIS_NS));
        let root = parse(with.as_bytes()).unwrap();
        let login = root.at(&["command", "login"]).unwrap();
        assert_eq!(login.child_text("clID").as_deref(), Some("reg"));
        let uris: Vec<_> = login
            .child("svcs")
            .unwrap()
            .children_named("objURI")
            .map(|u| u.text.as_str())
            .collect();
        assert_eq!(uris, [CONTACT_NS, DOMAIN_NS]);
        assert_eq!(root.at(&["command", "clTRID"]).unwrap().text, "t");
    }

    #[test]
    fn anonymizing_overwrites_every_postal_info_and_keeps_the_country() {
        let current = Contact {
            postal: vec![
                PostalInfo {
                    kind: "int".into(),
                    cc: Some("SE".into()),
                    ..PostalInfo::default()
                },
                PostalInfo {
                    kind: "loc".into(),
                    cc: Some("SE".into()),
                    ..PostalInfo::default()
                },
            ],
            ..Contact::default()
        };
        let doc = contact_anonymize("t", "C1", &current, "anonymized-x@invalid");
        let root = parse(&doc).unwrap();
        let chg = root.at(&["command", "update", "update", "chg"]).unwrap();
        let infos: Vec<_> = chg.children_named("postalInfo").collect();
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[1].attribute("type"), Some("loc"));
        assert_eq!(
            infos[0].child_text("name").as_deref(),
            Some(ANONYMIZED_NAME)
        );
        assert_eq!(infos[0].at(&["addr", "cc"]).unwrap().text, "SE");
        assert_eq!(chg.child("voice").unwrap().text, "");
        assert_eq!(chg.child("fax").unwrap().text, "");
        assert_eq!(
            chg.child_text("email").as_deref(),
            Some("anonymized-x@invalid")
        );
    }

    #[test]
    fn a_contact_is_read_with_its_iis_data() {
        let doc = br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response>
          <result code="1000"><msg>ok</msg></result>
          <resData><contact:infData xmlns:contact="urn:ietf:params:xml:ns:contact-1.0">
            <contact:id>C1</contact:id>
            <contact:postalInfo type="int"><contact:name>Anna</contact:name>
              <contact:addr><contact:street>Gatan 1</contact:street>
              <contact:street>Uppg. 2</contact:street><contact:city>Umea</contact:city>
              <contact:pc>90110</contact:pc><contact:cc>SE</contact:cc></contact:addr>
            </contact:postalInfo>
            <contact:voice x="">+46.701234567</contact:voice><contact:fax/>
            <contact:email>anna@example.se</contact:email>
          </contact:infData></resData>
          <extension><iis:infData xmlns:iis="urn:se:iis:xml:epp:iis-1.2">
            <iis:orgno>[SE]811218-9876</iis:orgno></iis:infData></extension>
        </response></epp>"#;
        let root = parse(doc).unwrap();
        let contact = Contact::from_response(root.child("response").unwrap()).unwrap();
        assert_eq!(contact.postal[0].street, ["Gatan 1", "Uppg. 2"]);
        assert_eq!(contact.fax, None);
        assert_eq!(contact.orgno.as_deref(), Some("[SE]811218-9876"));
        let fields = contact.fields();
        let get = |n: &str| fields.iter().find(|(f, _)| f == n).unwrap().1.clone();
        assert_eq!(get("street").as_deref(), Some("Gatan 1\nUppg. 2"));
        assert_eq!(get("voice").as_deref(), Some("+46.701234567"));
        assert_eq!(get("org"), None);
        assert_eq!(get("orgno").as_deref(), Some("[SE]811218-9876"));
    }
}
