//! Strict base64url: no padding, URL-safe alphabet only, canonical trailing
//! bits. Without the last rule two different strings decode to the same bytes,
//! and a token could be altered without altering what it says.
//!
//! Decoding is `base64-simd`'s, into the caller's buffer: SSSE3 or AVX2
//! chosen at run time, a scalar loop elsewhere. On an HS256 token our own
//! table-driven scalar loop took about a third of the HMAC's time, the SIMD
//! decoder about a fifth (perf on the bench machine). Its strict mode (`URL_SAFE_NO_PAD`) refuses padding, the standard
//! alphabet and non-canonical trailing bits. The tests below hold it to the
//! `base64` crate's strict decoder, which still encodes, on every short
//! string over a mixed alphabet and on long strings (the SIMD blocks) with
//! each character in turn made invalid.

use std::mem::MaybeUninit;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64_simd::Out;

use super::{Error, Malformed, Part};

/// The decoded length of `encoded` characters, or `None` for a length no
/// unpadded base64 has (one character past a multiple of four).
pub(crate) fn decoded_len(encoded: usize) -> Option<usize> {
    match encoded % 4 {
        1 => None,
        rest => Some(encoded / 4 * 3 + rest.saturating_sub(1)),
    }
}

/// Decodes `input` into `out`, which must be exactly [`decoded_len`] long
/// (`base64-simd` panics on a shorter one; both callers size it so).
fn decode_to<'o>(input: &[u8], out: Out<'o, [u8]>) -> Result<&'o mut [u8], ()> {
    base64_simd::URL_SAFE_NO_PAD
        .decode(input, out)
        .map_err(|_| ())
}

/// Decodes `input` into a new vector.
pub(crate) fn decode(input: &[u8]) -> Result<Vec<u8>, ()> {
    let mut out = vec![0; decoded_len(input.len()).ok_or(())?];
    decode_to(input, Out::from_slice(&mut out))?;
    Ok(out)
}

/// The largest part decoded on the stack by [`with_decoded`]: a header, the
/// signature of an RSA key of up to 4096 bits, the payload of an ID token.
const STACK: usize = 2048;

/// Decodes `input` on the stack when it fits in [`STACK`] bytes (the
/// parts of a token, unless it is unusually large), and gives the bytes to
/// `f`: no allocation for a token's three parts. The buffer is left
/// uninitialized (the decoder writes what `f` sees), because zeroing 2 KiB
/// costs more than decoding an HMAC's 43 characters. Invalid base64 is
/// [`Malformed::Base64`] of `part`; `f`'s own result comes back as it is,
/// one `Result` for both, so that a verification's result is not moved
/// through one more layer per part.
pub(crate) fn with_decoded<R>(
    input: &[u8],
    part: Part,
    f: impl FnOnce(&[u8]) -> Result<R, Error>,
) -> Result<R, Error> {
    let invalid = || Error::Malformed(Malformed::Base64(part));
    let len = decoded_len(input.len()).ok_or_else(invalid)?;
    if len > STACK {
        return f(&decode(input).map_err(|()| invalid())?);
    }
    let mut buffer = [MaybeUninit::<u8>::uninit(); STACK];
    let out = buffer.get_mut(..len).ok_or_else(invalid)?;
    f(decode_to(input, Out::from_uninit_slice(out)).map_err(|()| invalid())?)
}

pub(crate) fn encode(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`with_decoded`]'s bytes, or `()` for the error it must give.
    fn to_vec(input: &[u8]) -> Result<Vec<u8>, ()> {
        with_decoded(input, Part::Signature, |bytes| Ok(bytes.to_vec())).map_err(|error| {
            assert_eq!(error, Error::Malformed(Malformed::Base64(Part::Signature)));
        })
    }

    #[test]
    fn strict() {
        assert_eq!(decode(b"aGk").unwrap(), b"hi");
        assert!(decode(b"aGk=").is_err(), "padding");
        assert!(decode(b"aGl").is_err(), "non-canonical trailing bits");
        assert!(decode(b"+/8").is_err(), "standard alphabet");
        assert!(decode(b"-_8").is_ok());
        assert!(decode(b"a").is_err(), "impossible length");
        assert!(decode(b"aG k").is_err(), "whitespace");
        assert_eq!(decode(b"").unwrap(), b"");
        assert_eq!(encode(b"hi"), "aGk");
    }

    /// Our decoder accepts and refuses exactly what the `base64` crate's
    /// strict URL-safe decoder does, with the same bytes: every string of
    /// up to four characters over an alphabet that has valid characters of
    /// each trailing-bit class and invalid ones, then longer strings with
    /// one character changed.
    #[test]
    fn agrees_with_the_base64_crate() {
        let alphabet = b"AQgwBhi-_/+=.\x00\xff9";
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=4 {
            let mut strings = vec![Vec::new()];
            for _ in 0..len {
                strings = strings
                    .into_iter()
                    .flat_map(|s: Vec<u8>| {
                        alphabet.iter().map(move |&c| {
                            let mut next = s.clone();
                            next.push(c);
                            next
                        })
                    })
                    .collect();
            }
            inputs.extend(strings);
        }
        let long = encode(&(0..=255u8).collect::<Vec<_>>());
        for cut in 0..long.len() {
            inputs.push(long.as_bytes()[..cut].to_vec());
            for bad in [b'=', b'+', b' ', b'A'] {
                let mut changed = long.as_bytes()[..cut.max(1)].to_vec();
                let at = cut.saturating_sub(1) / 2;
                changed[at] = bad;
                inputs.push(changed);
            }
        }
        for input in inputs {
            let expected = URL_SAFE_NO_PAD.decode(&input).map_err(|_| ());
            assert_eq!(decode(&input), expected, "{:?}", input);
            assert_eq!(to_vec(&input), expected, "{:?}", input);
        }
    }

    /// Long strings go through the SIMD blocks: every character of one
    /// replaced in turn by a character outside the alphabet, or by one whose
    /// trailing bits are not canonical at the end.
    #[test]
    fn agrees_with_the_base64_crate_on_long_strings() {
        for len in [31usize, 32, 33, 64, 95, 130, 200] {
            let bytes: Vec<u8> = (0..len as u32).map(|i| (i * 37 + 11) as u8).collect();
            let long = encode(&bytes);
            assert_eq!(decode(long.as_bytes()).unwrap(), bytes);
            for at in 0..long.len() {
                for bad in [b'=', b'+', b'/', b' ', b'.', 0, 0x80, 0xff, b'B', b'_'] {
                    let mut changed = long.clone().into_bytes();
                    changed[at] = bad;
                    let expected = URL_SAFE_NO_PAD.decode(&changed).map_err(|_| ());
                    assert_eq!(decode(&changed), expected, "{len} {at} {bad}");
                    assert_eq!(to_vec(&changed), expected, "{len} {at} {bad}");
                }
            }
        }
    }

    #[test]
    fn every_buffer_size_decodes() {
        let bytes: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
        for len in [0, 1, 2, 3, STACK - 1, STACK, STACK + 1, 3000] {
            let encoded = encode(&bytes[..len]);
            assert_eq!(to_vec(encoded.as_bytes()).unwrap(), &bytes[..len]);
        }
    }
}
