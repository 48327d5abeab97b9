//! The few DER structures of RSA keys that JWKs must be converted to and
//! from: `RSAPublicKey` and `RSAPrivateKey` (PKCS #1), `PrivateKeyInfo`
//! (PKCS #8) and `SubjectPublicKeyInfo` (X.509).
//!
//! The crypto providers read and write keys only as DER, while JWKs carry
//! the RSA components (`n`, `e`, `d`, `p`…) as big-endian integers. The reader
//! accepts exactly the shapes written here and by the providers, and refuses
//! anything else (long lengths beyond 4 bytes, trailing bytes, other OIDs).

/// `rsaEncryption` (1.2.840.113549.1.1.1), DER-encoded with its tag.
const RSA_ENCRYPTION_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const NULL: &[u8] = &[0x05, 0x00];

const INTEGER: u8 = 0x02;
// Used by the aws-lc-rs provider only (parsed RSA keys, RSA-OAEP).
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const SEQUENCE: u8 = 0x30;

/// The components of an RSA private key, big-endian without leading zeros,
/// in the order of `RSAPrivateKey`: n, e, d, p, q, dp, dq, qi.
pub(crate) struct RsaPrivateComponents(pub(crate) [Vec<u8>; 8]);

fn tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

fn integer(magnitude: &[u8], out: &mut Vec<u8>) {
    let magnitude = strip_zeros(magnitude);
    let mut content = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(magnitude);
    tlv(INTEGER, &content, out);
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    tlv(SEQUENCE, &parts.concat(), &mut out);
    out
}

pub(crate) fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    &bytes[skip..]
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
// Used by the aws-lc-rs provider only (parsed RSA keys, RSA-OAEP).
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
pub(crate) fn rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut ints = Vec::new();
    integer(n, &mut ints);
    integer(e, &mut ints);
    sequence(&[&ints])
}

/// `SubjectPublicKeyInfo` of an RSA public key.
// Used by the aws-lc-rs provider only (parsed RSA keys, RSA-OAEP).
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
pub(crate) fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let algorithm = sequence(&[RSA_ENCRYPTION_OID, NULL]);
    let mut key = vec![0u8]; // no unused bits
    key.extend_from_slice(&rsa_public_key(n, e));
    let mut bits = Vec::new();
    tlv(BIT_STRING, &key, &mut bits);
    sequence(&[&algorithm, &bits])
}

/// `PrivateKeyInfo` (PKCS #8 v1) of an RSA private key.
pub(crate) fn rsa_pkcs8(key: &RsaPrivateComponents) -> Vec<u8> {
    let mut ints = Vec::new();
    integer(&[], &mut ints); // version 0 (two primes)
    for part in &key.0 {
        integer(part, &mut ints);
    }
    let pkcs1 = sequence(&[&ints]);
    let mut version = Vec::new();
    integer(&[], &mut version);
    let algorithm = sequence(&[RSA_ENCRYPTION_OID, NULL]);
    let mut octets = Vec::new();
    tlv(OCTET_STRING, &pkcs1, &mut octets);
    sequence(&[&version, &algorithm, &octets])
}

/// A DER reader over one buffer.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.0.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let len = rest[..count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[count..])
        };
        if rest.len() < len {
            return None;
        }
        let (content, rest) = rest.split_at(len);
        self.0 = rest;
        Some(content)
    }

    fn integer(&mut self) -> Option<Vec<u8>> {
        self.read(INTEGER).map(|i| strip_zeros(i).to_vec())
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// The components of a PKCS #8 RSA private key with two primes.
pub(crate) fn read_rsa_pkcs8(der: &[u8]) -> Option<RsaPrivateComponents> {
    let mut outer = Reader(der);
    let mut info = Reader(outer.read(SEQUENCE)?);
    if !outer.done() || !info.integer()?.is_empty() {
        return None;
    }
    let algorithm = info.read(SEQUENCE)?;
    if algorithm.get(..RSA_ENCRYPTION_OID.len())? != RSA_ENCRYPTION_OID {
        return None;
    }
    let mut key = Reader(info.read(OCTET_STRING)?);
    // Optional attributes ([0]) may follow in PKCS #8; they are ignored.
    let mut pkcs1 = Reader(key.read(SEQUENCE)?);
    if !key.done() || !pkcs1.integer()?.is_empty() {
        return None;
    }
    let mut parts: [Vec<u8>; 8] = Default::default();
    for part in &mut parts {
        *part = pkcs1.integer()?;
    }
    pkcs1.done().then_some(RsaPrivateComponents(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs8_round_trip() {
        let parts: [Vec<u8>; 8] = std::array::from_fn(|i| vec![0x80 | i as u8; 3 + 60 * i]);
        let der = rsa_pkcs8(&RsaPrivateComponents(parts.clone()));
        let back = read_rsa_pkcs8(&der).expect("reads what it writes");
        assert_eq!(back.0, parts);
        for cut in [1, der.len() / 2, der.len() - 1] {
            assert!(read_rsa_pkcs8(&der[..cut]).is_none());
        }
        let mut longer = der.clone();
        longer.push(0);
        assert!(read_rsa_pkcs8(&longer).is_none());
    }

    #[test]
    fn integers_are_positive_and_minimal() {
        let mut out = Vec::new();
        integer(&[0, 0, 0x80], &mut out);
        assert_eq!(out, [INTEGER, 2, 0, 0x80]);
        out.clear();
        integer(&[0x01, 0x00, 0x01], &mut out);
        assert_eq!(out, [INTEGER, 3, 1, 0, 1]);
    }
}
