//! A small element tree read with quick-xml, and the writer helpers the commands use.
//!
//! EPP answers are short, so a tree is simpler than a streaming parser. Elements are matched
//! by their *local* name: registries differ in the prefixes they bind (`contact:`, `c:`, a
//! default namespace), and EPP never reuses a local name within one answer in a way that
//! would make this ambiguous for the fields we read.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::Reader;

/// How deep an answer may nest. EPP needs about eight levels.
const MAX_DEPTH: usize = 64;

/// Why an answer is not XML we can read. Never holds the document's text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    /// quick-xml refused it.
    #[error("malformed XML at byte {0}")]
    Malformed(u64),
    /// Not one root element, or elements left open.
    #[error("the document is not one complete element")]
    Structure,
    /// An entity other than the five predefined ones (no DTDs in EPP).
    #[error("undeclared entity reference")]
    Entity,
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("nested deeper than {MAX_DEPTH} elements")]
    TooDeep,
    /// Not UTF-8.
    #[error("not UTF-8")]
    Encoding,
}

/// One element: its local name, attributes (local names), text and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name, without prefix.
    pub name: String,
    /// Attributes by local name, unescaped.
    pub attributes: Vec<(String, String)>,
    /// The element's own text, concatenated and unescaped.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at this path of local names below `self`.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter()
            .try_fold(self, |element, name| element.child(name))
    }

    /// An attribute's value by local name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A child's trimmed text; `None` if the child is missing or empty.
    pub fn child_text(&self, name: &str) -> Option<String> {
        let text = self.child(name)?.text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }
}

/// Parses a document into its root element.
pub fn parse(document: &[u8]) -> Result<Element, XmlError> {
    let document = std::str::from_utf8(document).map_err(|_| XmlError::Encoding)?;
    let mut reader = Reader::from_str(document);
    let mut open: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|_| XmlError::Malformed(position))?;
        match event {
            Event::Start(start) => {
                if open.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                open.push(element(&start)?);
            }
            Event::Empty(start) => {
                let done = element(&start)?;
                close(&mut open, &mut root, done)?;
            }
            Event::End(_) => {
                let done = open.pop().ok_or(XmlError::Structure)?;
                close(&mut open, &mut root, done)?;
            }
            Event::Text(text) => {
                let text = text.decode().map_err(|_| XmlError::Encoding)?;
                push_text(&mut open, &text);
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|_| XmlError::Encoding)?;
                push_text(&mut open, &text);
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.decode().map_err(|_| XmlError::Encoding)?;
                        resolve_predefined_entity(&name)
                            .ok_or(XmlError::Entity)?
                            .to_owned()
                    }
                    Err(_) => return Err(XmlError::Entity),
                };
                push_text(&mut open, &resolved);
            }
            Event::DocType(_) => return Err(XmlError::Entity),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    match (open.is_empty(), root) {
        (true, Some(root)) => Ok(root),
        _ => Err(XmlError::Structure),
    }
}

fn element(start: &BytesStart<'_>) -> Result<Element, XmlError> {
    let name = local(start.local_name().as_ref())?;
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|_| XmlError::Malformed(0))?;
        let key = attribute.key;
        if key.as_ref() == b"xmlns" || key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
            continue;
        }
        let value = attribute.unescape_value().map_err(|_| XmlError::Entity)?;
        attributes.push((local(key.local_name().as_ref())?, value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        ..Element::default()
    })
}

fn local(name: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(name)
        .map(str::to_owned)
        .map_err(|_| XmlError::Encoding)
}

fn push_text(open: &mut [Element], text: &str) {
    if let Some(current) = open.last_mut() {
        current.text.push_str(text);
    }
}

fn close(open: &mut [Element], root: &mut Option<Element>, done: Element) -> Result<(), XmlError> {
    match open.last_mut() {
        Some(parent) => parent.children.push(done),
        None if root.is_none() => *root = Some(done),
        None => return Err(XmlError::Structure),
    }
    Ok(())
}

/// Writes `<name>text</name>` with the text escaped.
pub fn text_element(
    writer: &mut quick_xml::Writer<Vec<u8>>,
    name: &str,
    text: &str,
) -> std::io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(text))
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_attributes_and_escapes() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
            <epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response>
              <result code="1000"><msg>Command completed successfully</msg></result>
              <resData><contact:infData xmlns:contact="urn:ietf:params:xml:ns:contact-1.0">
                <contact:id>C&amp;1</contact:id>
                <contact:postalInfo type="int"><contact:name>&#197;sa &lt;&gt;</contact:name>
                <contact:org/></contact:postalInfo>
              </contact:infData></resData></response></epp>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "epp");
        let result = root.at(&["response", "result"]).unwrap();
        assert_eq!(result.attribute("code"), Some("1000"));
        let info = root.at(&["response", "resData", "infData"]).unwrap();
        assert_eq!(info.child_text("id").as_deref(), Some("C&1"));
        let postal = info.child("postalInfo").unwrap();
        assert_eq!(postal.attribute("type"), Some("int"));
        assert_eq!(postal.child_text("name").as_deref(), Some("Åsa <>"));
        assert_eq!(postal.child_text("org"), None);
    }

    #[test]
    fn broken_documents_are_errors() {
        let cases: [(&[u8], XmlError); 6] = [
            (b"<epp><response></epp>", XmlError::Malformed(14)),
            (b"<epp>", XmlError::Structure),
            (b"<a/><b/>", XmlError::Structure),
            (b"", XmlError::Structure),
            (b"<a>&ext;</a>", XmlError::Entity),
            (
                b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
                XmlError::Entity,
            ),
        ];
        for (doc, want) in cases {
            let got = parse(doc);
            assert!(got.is_err(), "{:?} parsed", String::from_utf8_lossy(doc));
            if !matches!(want, XmlError::Malformed(_)) {
                assert_eq!(got.unwrap_err(), want, "{:?}", String::from_utf8_lossy(doc));
            }
        }
        assert_eq!(parse(b"\xff"), Err(XmlError::Encoding));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let doc = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(parse(doc.as_bytes()), Err(XmlError::TooDeep));
    }
}
