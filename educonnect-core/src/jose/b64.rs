//! Strict base64url: no padding, URL-safe alphabet only, canonical trailing
//! bits. Without the last rule two different strings decode to the same bytes,
//! and a token could be altered without altering what it says.
//!
//! Decoding is our own table-driven loop, into the caller's buffer: a token's
//! three segments went through the `base64` crate's general engine and three
//! allocations, which on an HS256 token cost as much as the HMAC. It is
//! tested against the `base64` crate's strict decoder, which still encodes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Marks a byte outside the alphabet in [`DECODE`].
const INVALID: u8 = 0xFF;

/// Each byte's 6-bit value in the URL-safe alphabet, or [`INVALID`].
static DECODE: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Marks a byte outside the alphabet in [`SHIFTED`]: a bit no valid
/// character sets.
const INVALID_BIT: u32 = 1 << 31;

/// [`DECODE`] with each value already in its place in a group of four
/// characters (the first character's six bits at 18, the last's at 0): a
/// group's 24 bits are four lookups OR-ed together.
static SHIFTED: [[u32; 256]; 4] = {
    let mut tables = [[INVALID_BIT; 256]; 4];
    let mut c = 0;
    while c < 256 {
        if DECODE[c] != INVALID {
            let v = DECODE[c] as u32;
            tables[0][c] = v << 18;
            tables[1][c] = v << 12;
            tables[2][c] = v << 6;
            tables[3][c] = v;
        }
        c += 1;
    }
    tables
};

/// The 24 bits of a group of four characters, or [`INVALID_BIT`] set.
#[inline(always)]
fn group(chars: &[u8; 4]) -> u32 {
    SHIFTED[0][usize::from(chars[0])]
        | SHIFTED[1][usize::from(chars[1])]
        | SHIFTED[2][usize::from(chars[2])]
        | SHIFTED[3][usize::from(chars[3])]
}

/// The decoded length of `encoded` characters, or `None` for a length no
/// unpadded base64 has (one character past a multiple of four).
pub(crate) fn decoded_len(encoded: usize) -> Option<usize> {
    match encoded % 4 {
        1 => None,
        rest => Some(encoded / 4 * 3 + rest.saturating_sub(1)),
    }
}

/// Decodes `input` into the start of `out`, which must hold
/// [`decoded_len`] bytes, and returns that part of it.
pub(crate) fn decode_into<'o>(input: &[u8], out: &'o mut [u8]) -> Result<&'o mut [u8], ()> {
    let len = decoded_len(input.len()).ok_or(())?;
    let out = out.get_mut(..len).ok_or(())?;
    let groups = input.len() / 4 * 4;
    // Invalid characters are collected in one flag, tested once at the end:
    // no branch per character.
    let mut seen = 0u32;
    let (mut i, mut o) = (0, 0);
    // Eight characters a step, their six bytes written as one eight-byte
    // store whose last two bytes the next step overwrites; then the groups
    // of four too close to the end for that.
    while let (Some(chars), Some(window)) = (input.get(i..i + 8), out.get_mut(o..o + 8)) {
        let (Ok(first), Ok(second), Ok(window)) = (
            <&[u8; 4]>::try_from(&chars[..4]),
            <&[u8; 4]>::try_from(&chars[4..]),
            <&mut [u8; 8]>::try_from(window),
        ) else {
            return Err(());
        };
        let (first, second) = (group(first), group(second));
        seen |= first | second;
        *window = ((u64::from(first) << 24 | u64::from(second)) << 16).to_be_bytes();
        i += 8;
        o += 6;
    }
    while i < groups {
        let (Some(Ok(chars)), Some(Ok(bytes))) = (
            input.get(i..i + 4).map(<&[u8; 4]>::try_from),
            out.get_mut(o..o + 3).map(<&mut [u8; 3]>::try_from),
        ) else {
            return Err(());
        };
        let word = group(chars);
        seen |= word;
        let [_, b0, b1, b2] = word.to_be_bytes();
        *bytes = [b0, b1, b2];
        i += 4;
        o += 3;
    }
    let mut seen = u8::from(seen & INVALID_BIT != 0) << 7;
    let tail = input
        .get(groups..)
        .ok_or(())?
        .iter()
        .map(|&c| DECODE[usize::from(c)]);
    match (tail.collect::<TailValues>(), out.get_mut(o..).ok_or(())?) {
        (TailValues::None, []) => {}
        // Two characters, one byte: the last character's low four bits
        // carry nothing and must be zero.
        (TailValues::Two(a, b), [x]) => {
            seen |= a | b | u8::from(b & 0x0F != 0) << 7;
            *x = a << 2 | b >> 4;
        }
        // Three characters, two bytes: the low two bits must be zero.
        (TailValues::Three(a, b, c), [x, y]) => {
            seen |= a | b | c | u8::from(c & 0x03 != 0) << 7;
            *x = a << 2 | b >> 4;
            *y = b << 4 | c >> 2;
        }
        _ => return Err(()),
    }
    if seen & 0x80 != 0 {
        return Err(());
    }
    Ok(out)
}

/// The values of the last, incomplete group of characters.
enum TailValues {
    None,
    Two(u8, u8),
    Three(u8, u8, u8),
    Other,
}

impl FromIterator<u8> for TailValues {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        match (iter.next(), iter.next(), iter.next(), iter.next()) {
            (None, ..) => Self::None,
            (Some(a), Some(b), None, _) => Self::Two(a, b),
            (Some(a), Some(b), Some(c), None) => Self::Three(a, b, c),
            _ => Self::Other,
        }
    }
}

/// Decodes `input` into a new vector.
pub(crate) fn decode(input: &[u8]) -> Result<Vec<u8>, ()> {
    let mut out = vec![0; decoded_len(input.len()).ok_or(())?];
    decode_into(input, &mut out)?;
    Ok(out)
}

/// The largest part decoded on the stack by [`with_decoded`]: a header, the
/// signature of an RSA key of up to 4096 bits, the payload of an ID token.
const STACK: usize = 2048;

/// Decodes `input` on the stack when it fits in [`STACK`] bytes (the
/// parts of a token, unless it is unusually large), and gives the bytes to
/// `f`: no allocation for a token's three parts. The buffer is the smallest
/// of three sizes that holds it, because zeroing 2 KiB costs more than
/// decoding an HMAC's 43 characters.
pub(crate) fn with_decoded<R>(input: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<R, ()> {
    fn on_stack<const N: usize, R>(input: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<R, ()> {
        let mut buffer = [0; N];
        Ok(f(decode_into(input, &mut buffer)?))
    }
    match decoded_len(input.len()).ok_or(())? {
        ..=96 => on_stack::<96, R>(input, f),
        97..=512 => on_stack::<512, R>(input, f),
        513..=STACK => on_stack::<STACK, R>(input, f),
        _ => Ok(f(&decode(input)?)),
    }
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
            assert_eq!(
                with_decoded(&input, <[u8]>::to_vec),
                expected,
                "{:?}",
                input
            );
        }
    }

    #[test]
    fn every_buffer_size_decodes() {
        let bytes: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
        for len in [
            0,
            95,
            96,
            97,
            511,
            512,
            513,
            STACK - 1,
            STACK,
            STACK + 1,
            3000,
        ] {
            let encoded = encode(&bytes[..len]);
            assert_eq!(
                with_decoded(encoded.as_bytes(), <[u8]>::to_vec).unwrap(),
                &bytes[..len]
            );
        }
    }
}
