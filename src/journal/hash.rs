//! SHA-256 digests as the journal writes them: 64 lower-case hex digits.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The `prev` of the first event: 64 zeros.
    pub const ZERO: Self = Self([0; 32]);

    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses exactly 64 lower-case hex digits; anything else (upper case included) is refused,
    /// so that one digest has one spelling.
    pub fn from_hex(text: &str) -> Option<Self> {
        Self::from_hex_bytes(text.as_bytes())
    }

    /// [`Digest::from_hex`] on bytes: verify reads every `prev` and `hash` this way, so it goes
    /// through a table rather than a branch per digit.
    pub fn from_hex_bytes(bytes: &[u8]) -> Option<Self> {
        let Ok(bytes) = <&[u8; 64]>::try_from(bytes) else {
            return None;
        };
        let (pairs, _) = bytes.as_chunks::<2>();
        let mut out = [0u8; 32];
        // Any byte that is not a lower-case hex digit maps to 0x10; or-ing all of them keeps
        // that bit, so one test at the end refuses the digest.
        let mut bad = 0u8;
        for (byte, [hi, lo]) in out.iter_mut().zip(pairs) {
            let (hi, lo) = (NIBBLE[usize::from(*hi)], NIBBLE[usize::from(*lo)]);
            bad |= hi | lo;
            *byte = (hi << 4) | (lo & 0x0f);
        }
        (bad < 0x10).then_some(Self(out))
    }

    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The value of each lower-case hex digit; 0x10 for every other byte.
const NIBBLE: [u8; 256] = {
    let mut table = [0x10u8; 256];
    let mut i = 0u8;
    while i < 16 {
        table[HEX[i as usize] as usize] = i;
        i += 1;
    }
    table
};

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor, not `Cow<str>`: serde's `Cow` always copies into a `String`.
        struct Hex;
        impl de::Visitor<'_> for Hex {
            type Value = Digest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SHA-256 digest: 64 lower-case hex digits")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Digest, E> {
                Digest::from_hex(text).ok_or_else(|| {
                    E::custom("expected a SHA-256 digest: 64 lower-case hex digits")
                })
            }
        }
        d.deserialize_str(Hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Digest::from_hex(&d.to_hex().to_uppercase()), None);
        assert_eq!(Digest::from_hex("ab"), None);
        assert_eq!(Digest::ZERO.to_hex(), "0".repeat(64));
    }
}
