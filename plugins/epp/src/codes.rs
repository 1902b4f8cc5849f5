//! RFC 5730 result codes and what each means for gallra.
//!
//! The registry's `<msg>` is deliberately never used: registries put the object's id or the
//! offending value in it, and errors must not carry personal data. A fixed description per
//! code says enough to act on.

/// What a result code means for the operation that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 1xxx: the command succeeded.
    Success,
    /// 2303: the object does not exist.
    NotFound,
    /// 2304 or 2305: the object is tied to another (a contact still linked to a domain), or
    /// its status forbids the change.
    Linked,
    /// 2400 and 2500–2502: the registry failed or closed the session; try again later.
    Transient,
    /// Any other 2xxx: a mistake that repeats until someone changes something.
    Permanent,
}

/// Classifies a result code.
pub fn classify(code: u16) -> Class {
    match code {
        1000..=1999 => Class::Success,
        2303 => Class::NotFound,
        2304 | 2305 => Class::Linked,
        2400 | 2500..=2502 => Class::Transient,
        _ => Class::Permanent,
    }
}

/// Whether the registry ends the session after this code (RFC 5730 2500–2502).
pub fn closes_session(code: u16) -> bool {
    (2500..=2502).contains(&code)
}

/// A fixed description of a result code, for error messages.
pub fn describe(code: u16) -> &'static str {
    match code {
        1000 => "command completed successfully",
        1001 => "command completed successfully; action pending",
        1300 => "no messages",
        1301 => "ack to dequeue",
        1500 => "ending session",
        2000 => "unknown command",
        2001 => "command syntax error",
        2002 => "command use error",
        2003 => "required parameter missing",
        2004 => "parameter value range error",
        2005 => "parameter value syntax error",
        2100 => "unimplemented protocol version",
        2101 => "unimplemented command",
        2102 => "unimplemented option",
        2103 => "unimplemented extension",
        2104 => "billing failure",
        2105 => "object is not eligible for renewal",
        2106 => "object is not eligible for transfer",
        2200 => "authentication error",
        2201 => "authorization error",
        2202 => "invalid authorization information",
        2300 => "object pending transfer",
        2301 => "object not pending transfer",
        2302 => "object exists",
        2303 => "object does not exist",
        2304 => "object status prohibits operation",
        2305 => "object association prohibits operation",
        2306 => "parameter value policy error",
        2307 => "unimplemented object service",
        2308 => "data management policy violation",
        2400 => "command failed",
        2500 => "command failed; server closing connection",
        2501 => "authentication error; server closing connection",
        2502 => "session limit exceeded; server closing connection",
        _ => "unknown result code",
    }
}

/// What to do about a code, for the sysadmin reading the error.
pub fn remedy(code: u16) -> &'static str {
    match code {
        2200 | 2501 => "check username and password_file",
        2201 | 2202 => "the contact may belong to another registrar",
        2502 => "close other sessions of this registrar account",
        2000..=2005 | 2100..=2103 | 2307 => {
            "the registry does not accept this command as sent; check extension"
        }
        2306 | 2308 => "the registry's policy refuses the change",
        _ => "see the registry's documentation of this code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_by_rfc_5730() {
        let cases = [
            (1000, Class::Success),
            (1001, Class::Success),
            (1500, Class::Success),
            (2303, Class::NotFound),
            (2304, Class::Linked),
            (2305, Class::Linked),
            (2400, Class::Transient),
            (2500, Class::Transient),
            (2501, Class::Transient),
            (2502, Class::Transient),
            (2200, Class::Permanent),
            (2201, Class::Permanent),
            (2306, Class::Permanent),
            (2308, Class::Permanent),
            (2999, Class::Permanent),
        ];
        for (code, class) in cases {
            assert_eq!(classify(code), class, "{code}");
        }
    }

    #[test]
    fn only_25xx_closes_the_session() {
        assert!(closes_session(2500) && closes_session(2502));
        assert!(!closes_session(2400) && !closes_session(2305));
    }

    #[test]
    fn every_rfc_code_has_its_own_description() {
        for code in [2000, 2200, 2303, 2305, 2400, 2502] {
            assert_ne!(describe(code), "unknown result code", "{code}");
        }
        assert_eq!(describe(2777), "unknown result code");
    }
}
