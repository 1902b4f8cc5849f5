//! The XML the test registry reads (a small tree by local name) and writes (quick-xml, so
//! every value is escaped).

use std::io;

use quick_xml::events::{BytesText, Event};
use quick_xml::{Reader, Writer};

use super::{ContactData, CONTACT_NS, DOMAIN_NS, EPP_NS, IIS_NS, USERNAME};

type W<'a> = &'a mut Writer<Vec<u8>>;

pub(super) fn text(w: W<'_>, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))
        .map(drop)
}

pub(super) fn greeting() -> Vec<u8> {
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

pub(super) fn document(body: impl FnOnce(W<'_>) -> io::Result<()>) -> Vec<u8> {
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

pub(super) fn response(
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

pub(super) fn contact_info(
    w: W<'_>,
    id: &str,
    c: &ContactData,
    linked: bool,
    iis: bool,
) -> io::Result<()> {
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

pub(super) fn domain_info(w: W<'_>, name: &str, uses: &[String]) -> io::Result<()> {
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
pub(super) struct Node {
    pub(super) name: String,
    pub(super) text: String,
    pub(super) children: Vec<Node>,
}

impl Node {
    pub(super) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// A child's trimmed text; `None` if missing or empty.
    pub(super) fn text_of(&self, name: &str) -> Option<String> {
        let text = self.child(name)?.text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }
}

/// Parses a command; `None` for anything that is not well-formed XML with one root.
pub(super) fn parse(document: &[u8]) -> Option<Node> {
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
