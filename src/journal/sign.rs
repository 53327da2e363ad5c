//! Signing a sealed journal with a minisign key, and checking such a signature. The signature
//! file is `journal.jsonl.minisig` beside the journal, in minisign's own format, so that the
//! standard tool checks it too: `minisign -Vm journal.jsonl -p KEY.pub`.

use std::fs::File;
use std::io::{BufReader, IsTerminal as _};
use std::path::Path;

use minisign::{PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

use super::event::SignerRef;

/// Why a key could not be used or a signature not made or checked.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{}: cannot read the key: {source}", path.display())]
    ReadKey {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {why}", path.display())]
    BadKey {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("the signature could not be made: {0}")]
    Sign(String),
}

/// A secret key ready to sign, with its public half.
pub struct Signer {
    secret: SecretKey,
    public: PublicKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", key_id(self.public.keynum()))
    }
}

/// Minisign's way of writing a key id: the 8 key-number bytes as a little-endian number in
/// upper-case hex.
pub fn key_id(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    let n = keynum.len().min(8);
    bytes[..n].copy_from_slice(&keynum[..n]);
    format!("{:016X}", u64::from_le_bytes(bytes))
}

impl Signer {
    /// Loads a minisign secret key file. A password-protected key asks for its password on the
    /// terminal; without a terminal it is refused with a message saying so.
    pub fn load(path: &Path) -> Result<Self, SignError> {
        let text = std::fs::read_to_string(path).map_err(|source| SignError::ReadKey {
            path: path.to_owned(),
            source,
        })?;
        let bad = |why: String| SignError::BadKey {
            path: path.to_owned(),
            why,
        };
        let secret_box = SecretKeyBox::from_string(&text)
            .map_err(|e| bad(format!("not a minisign secret key: {e}")))?;
        let secret = match SecretKey::from_unencrypted_box(secret_box.clone()) {
            Ok(key) => key,
            Err(_) => match unprotected_without_checksum(&text) {
                Some(Ok(key)) => key,
                Some(Err(why)) => return Err(bad(why)),
                None if std::io::stdin().is_terminal() => SecretKey::from_box(secret_box, None)
                    .map_err(|e| {
                        bad(format!(
                            "cannot unlock the key: {e} (a wrong password, or a damaged key file)"
                        ))
                    })?,
                None => {
                    return Err(bad(
                        "the key is password-protected and there is no terminal to ask for its \
                         password; run custody in a terminal"
                            .into(),
                    ));
                }
            },
        };
        let public = PublicKey::from_secret_key(&secret)
            .map_err(|e| bad(format!("cannot derive the public key: {e}")))?;
        Ok(Self { secret, public })
    }

    /// What the seal event records of this key.
    pub fn reference(&self) -> SignerRef {
        SignerRef {
            key_id: key_id(self.public.keynum()),
            public_key: self.public.to_base64(),
        }
    }

    /// Signs the file at `journal`, returning the signature file's text.
    pub fn sign(&self, journal: &Path, trusted_comment: &str) -> Result<String, SignError> {
        let file = File::open(journal).map_err(|e| SignError::Sign(e.to_string()))?;
        let signature = minisign::sign(
            Some(&self.public),
            &self.secret,
            BufReader::new(file),
            Some(trusted_comment),
            Some("signature of a custody journal"),
        )
        .map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(signature.into_string())
    }
}

/// A key without a password, as the minisign tool writes it with `-W`: its checksum is left as
/// zeros, which the minisign crate refuses as corrupted. `None` when the key is
/// password-protected (or not a key at all, which the caller has reported already). The key is
/// accepted only if it signs something its own public half verifies, so that a damaged key is
/// never used.
fn unprotected_without_checksum(text: &str) -> Option<Result<SecretKey, String>> {
    use ct_codecs::{Base64, Decoder as _};
    const KDF_ALG_AT: std::ops::Range<usize> = 2..4;
    const CHECKSUM_BYTES: usize = 32;
    let encoded = text.lines().nth(1)?.trim();
    let bytes = Base64::decode_to_vec(encoded, None).ok()?;
    if bytes.get(KDF_ALG_AT) != Some(&[0, 0][..]) {
        return None;
    }
    let damaged = || {
        "the key file is damaged: its checksum does not match the key; use the original file \
         or a backup"
            .to_string()
    };
    let checksum = bytes
        .len()
        .checked_sub(CHECKSUM_BYTES)
        .map(|at| &bytes[at..]);
    if checksum.is_none_or(|c| c.iter().any(|b| *b != 0)) {
        return Some(Err(damaged()));
    }
    let Ok(secret) = SecretKey::from_bytes(&bytes) else {
        return Some(Err(damaged()));
    };
    let works = PublicKey::from_secret_key(&secret).is_ok_and(|public| {
        let probe = b"custody key check";
        minisign::sign(Some(&public), &secret, &probe[..], None, None).is_ok_and(|signature| {
            let data = std::io::Cursor::new(&probe[..]);
            minisign::verify(&public, &signature, data, true, false, false).is_ok()
        })
    });
    Some(if works { Ok(secret) } else { Err(damaged()) })
}

/// Loads a public key: a minisign `.pub` file, or the base64 key itself.
pub fn load_public_key(text_or_path: &str) -> Result<PublicKey, String> {
    if let Ok(key) = PublicKey::from_base64(text_or_path.trim()) {
        return Ok(key);
    }
    let text = std::fs::read_to_string(text_or_path).map_err(|e| {
        format!("{text_or_path}: neither a base64 public key nor a readable file ({e})")
    })?;
    PublicKeyBox::from_string(&text)
        .and_then(PublicKeyBox::into_public_key)
        .or_else(|_| PublicKey::from_base64(text.trim()))
        .map_err(|e| format!("{text_or_path}: not a minisign public key: {e}"))
}

/// The outcome of checking a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Good, by the key with this id; the trusted comment is what the signer wrote.
    Valid {
        key_id: String,
        trusted_comment: String,
    },
    /// Present but not good, with minisign's reason.
    Invalid(String),
}

/// Checks `signature_text` over the file at `journal` with `key`.
pub fn check(journal: &Path, signature_text: &str, key: &PublicKey) -> SignatureCheck {
    let signature = match SignatureBox::from_string(signature_text) {
        Ok(s) => s,
        Err(e) => return SignatureCheck::Invalid(format!("not a minisign signature: {e}")),
    };
    let file = match File::open(journal) {
        Ok(f) => f,
        Err(e) => return SignatureCheck::Invalid(format!("cannot read the journal: {e}")),
    };
    match minisign::verify(key, &signature, BufReader::new(file), true, false, false) {
        Ok(()) => SignatureCheck::Valid {
            key_id: key_id(key.keynum()),
            trusted_comment: signature.trusted_comment().unwrap_or_default(),
        },
        Err(e) => SignatureCheck::Invalid(e.to_string()),
    }
}
