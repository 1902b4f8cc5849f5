//! Target `config`: any text as a `gallra.toml`. The parser and validator must answer with
//! a configuration or with errors, and the errors must render (they point at lines and
//! columns of the text, which is where multi-byte characters could trip an index).

use std::path::Path;

/// Parses `data` (lossily decoded as UTF-8) as a configuration file; panics only on a bug.
pub fn feed(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match gallra::config::parse(&text, Path::new("/fuzz/gallra.toml")) {
        Ok(config) => assert!(
            config.systems.contains_key(&config.account_source),
            "a configuration whose account source is not a configured system was accepted"
        ),
        Err(errors) => {
            let rendered = errors.to_string();
            assert!(!rendered.is_empty(), "a refusal with no message");
        }
    }
}
