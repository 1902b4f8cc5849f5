//! IMAP's modified UTF-7 for mailbox names (RFC 3501 section 5.1.3): how `Skräppost` is
//! spelled on the wire (`Skr&AOQ-ppost`). Sysadmins write names as their mail client shows
//! them; the connector encodes them.

use base64::alphabet::IMAP_MUTF7;
use base64::engine::general_purpose::NO_PAD;
use base64::engine::GeneralPurpose;
use base64::Engine;

const ENGINE: GeneralPurpose = GeneralPurpose::new(&IMAP_MUTF7, NO_PAD);

/// Encodes a mailbox name: printable ASCII stays, `&` becomes `&-`, anything else becomes
/// `&` + modified base64 of its UTF-16 + `-`.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if !pending.is_empty() {
            let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&ENGINE.encode(bytes));
            out.push('-');
            pending.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn encodes_like_rfc_3501() {
        let cases = [
            ("INBOX", "INBOX"),
            ("Sent Items", "Sent Items"),
            ("Skräppost", "Skr&AOQ-ppost"),
            ("Tom & Jerry", "Tom &- Jerry"),
            ("日本語", "&ZeVnLIqe-"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("Brev 📨", "Brev &2D3c6A-"),
        ];
        for (name, want) in cases {
            assert_eq!(encode(name), want, "{name}");
        }
    }
}
