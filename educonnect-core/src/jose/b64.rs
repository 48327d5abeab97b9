//! Strict base64url: no padding, URL-safe alphabet only, canonical trailing
//! bits. Without the last rule two different strings decode to the same bytes,
//! and a token could be altered without altering what it says.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) fn decode(input: &[u8]) -> Result<Vec<u8>, ()> {
    URL_SAFE_NO_PAD.decode(input).map_err(|_| ())
}

pub(crate) fn encode(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict() {
        assert_eq!(decode(b"aGk").unwrap(), b"hi");
        assert!(decode(b"aGk=").is_err(), "padding");
        assert!(decode(b"aGl").is_err(), "non-canonical trailing bits");
        assert!(decode(b"+/8").is_err(), "standard alphabet");
        assert!(decode(b"-_8").is_ok());
        assert!(decode(b"a").is_err(), "impossible length");
        assert!(decode(b"aG k").is_err(), "whitespace");
        assert_eq!(encode(b"hi"), "aGk");
    }
}
