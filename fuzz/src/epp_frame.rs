//! Target `epp_frame`: bytes as a registry would send them. They go through the RFC 5734
//! framing ([`decode_frame`] on the buffer, [`read_frame`] on a stream) and every whole
//! frame's payload through the EPP answer parser, then through the lookups the connector
//! makes on an answer.

use gallra_plugin_epp::frame::{decode_frame, parse_payload, read_frame, Decoded, Element};

/// Decodes every frame in `data` and parses each payload; panics only on a bug.
pub fn feed(data: &[u8]) {
    let mut rest = data;
    while let Ok(Decoded::Frame { payload, consumed }) = decode_frame(rest) {
        assert!(
            consumed <= rest.len() && payload.len() + 4 == consumed,
            "a frame claimed more than the buffer holds"
        );
        let streamed = read_frame(&mut &rest[..]).expect("a decoded frame reads from a stream");
        assert_eq!(streamed, payload, "the buffer and stream readers disagree");
        if let Ok(root) = parse_payload(payload) {
            read_like_the_connector(&root);
        }
        rest = &rest[consumed..];
    }
    if let Ok(root) = parse_payload(data) {
        read_like_the_connector(&root);
    }
}

/// What the connector reads from an answer: the result code and a contact's fields.
fn read_like_the_connector(root: &Element) {
    let Some(response) = root.child("response") else {
        return;
    };
    let _code = response
        .child("result")
        .and_then(|r| r.attribute("code"))
        .and_then(|c| c.parse::<u16>().ok());
    if let Some(info) = response.at(&["resData", "infData"]) {
        for postal in info.children_named("postalInfo") {
            let _ = postal.attribute("type");
            let _ = postal.child_text("name");
            let street = postal.at(&["addr"]).into_iter();
            let _ = street.flat_map(|a| a.children_named("street")).count();
        }
        let _ = info.child_text("email");
    }
    let _ = response
        .at(&["extension", "infData"])
        .map(|i| i.child_text("orgno"));
}
