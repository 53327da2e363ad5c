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
        // Branch-free per digit, so that the compiler does 16 digits at a time.
        let mut nibbles = [0u8; 64];
        let mut bad = 0u8;
        for (nibble, &c) in nibbles.iter_mut().zip(bytes) {
            let digit = c.wrapping_sub(b'0');
            let letter = c.wrapping_sub(b'a');
            let (is_digit, is_letter) = (digit < 10, letter < 6);
            *nibble = if is_digit {
                digit
            } else {
                letter.wrapping_add(10)
            };
            bad |= u8::from(!(is_digit | is_letter));
        }
        if bad != 0 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(nibbles.as_chunks::<2>().0) {
            *byte = (pair[0] << 4) | pair[1];
        }
        Some(Self(out))
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
                Digest::from_hex(text)
                    .ok_or_else(|| E::custom("expected a SHA-256 digest: 64 lower-case hex digits"))
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

    #[test]
    fn every_byte_but_a_lower_case_hex_digit_is_refused_everywhere() {
        let good = Digest::of(b"abc").to_hex().into_bytes();
        for at in [0, 1, 31, 62, 63] {
            for byte in 0..=255u8 {
                let mut text = good.clone();
                text[at] = byte;
                let expected = b"0123456789abcdef".contains(&byte);
                assert_eq!(
                    Digest::from_hex_bytes(&text).is_some(),
                    expected,
                    "byte {byte:#x} at {at}"
                );
            }
        }
        assert_eq!(Digest::from_hex_bytes(&good[..63]), None);
        assert_eq!(
            Digest::from_hex_bytes(&[good.clone(), b"0".to_vec()].concat()),
            None
        );
        let d: Digest = serde_json::from_str(&format!("\"{}\"", Digest::ZERO)).unwrap();
        assert_eq!(d, Digest::ZERO);
        assert!(serde_json::from_str::<Digest>("\"00\"").is_err());
    }
}
