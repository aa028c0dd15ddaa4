//! Ed25519 rule-pack signing keys: generation, the key files, and signing.
//!
//! Key files hold standard base64 of 32 bytes and a newline: the secret *seed* (`reach-signing.key`, mode 0600)
//! or the public key (`reach-signing.pub`, the string an SDK is configured with). The server only ever signs;
//! verifying is the SDK's job.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};

use crate::error::ServerError;

/// The secret key file `reach keygen` writes.
pub const SECRET_KEY_FILE: &str = "reach-signing.key";
/// The public key file `reach keygen` writes.
pub const PUBLIC_KEY_FILE: &str = "reach-signing.pub";

/// A fresh key pair: (secret seed, public key), both standard base64 of 32 bytes.
pub fn keygen() -> Result<(String, String), ServerError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| ServerError::Io(format!("no randomness from the OS: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    Ok((B64.encode(seed), B64.encode(key.verifying_key().to_bytes())))
}

/// Decodes a secret seed (standard base64 of 32 bytes; surrounding whitespace ignored).
pub fn decode_seed(seed_b64: &str) -> Result<[u8; 32], ServerError> {
    let bytes = B64
        .decode(seed_b64.trim())
        .map_err(|e| ServerError::InvalidKey(format!("not standard base64: {e}")))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        ServerError::InvalidKey(format!(
            "{} bytes, expected a 32-byte Ed25519 seed",
            b.len()
        ))
    })
}

/// The base64 Ed25519 signature of `body` under the secret seed.
pub fn sign(seed_b64: &str, body: &[u8]) -> Result<String, ServerError> {
    Ok(sign_with_seed(&decode_seed(seed_b64)?, body))
}

/// The base64 Ed25519 signature of `body` under a decoded seed.
pub fn sign_with_seed(seed: &[u8; 32], body: &[u8]) -> String {
    B64.encode(SigningKey::from_bytes(seed).sign(body).to_bytes())
}

/// The public key (base64) of a secret seed.
pub fn public_key(seed: &[u8; 32]) -> String {
    B64.encode(SigningKey::from_bytes(seed).verifying_key().to_bytes())
}

/// Reads a secret key file written by `reach keygen`.
pub fn read_key_file(path: &Path) -> Result<[u8; 32], ServerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServerError::Io(format!("cannot read key file {}: {e}", path.display())))?;
    decode_seed(&text)
}

/// Generates a key pair into `DIR/reach-signing.key` (0600) and `DIR/reach-signing.pub`; returns their paths
/// and the public key. Refuses to overwrite an existing secret key: losing it would orphan every SDK configured
/// with its public key.
pub fn write_key_pair(dir: &Path) -> Result<(PathBuf, PathBuf, String), ServerError> {
    let io = |what: &Path, e: std::io::Error| {
        ServerError::Io(format!("cannot write {}: {e}", what.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let secret_path = dir.join(SECRET_KEY_FILE);
    let public_path = dir.join(PUBLIC_KEY_FILE);
    if secret_path.exists() {
        return Err(ServerError::Io(format!(
            "{} exists; not overwriting a signing key",
            secret_path.display()
        )));
    }
    let (secret, public) = keygen()?;
    write_private(&secret_path, format!("{secret}\n").as_bytes())
        .map_err(|e| io(&secret_path, e))?;
    std::fs::write(&public_path, format!("{public}\n")).map_err(|e| io(&public_path, e))?;
    Ok((secret_path, public_path, public))
}

/// Creates a file readable only by its owner (0600 from the start, never briefly world-readable).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};

    #[test]
    fn a_signature_verifies_with_the_generated_public_key() {
        let (secret, public) = keygen().unwrap();
        let sig = sign(&secret, b"pack body").unwrap();
        let public: [u8; 32] = B64.decode(public).unwrap().try_into().unwrap();
        let sig: [u8; 64] = B64.decode(sig).unwrap().try_into().unwrap();
        let key = VerifyingKey::from_bytes(&public).unwrap();
        assert!(key
            .verify(b"pack body", &Signature::from_bytes(&sig))
            .is_ok());
        assert!(key
            .verify(b"pack body!", &Signature::from_bytes(&sig))
            .is_err());
    }

    #[test]
    fn a_seed_that_is_not_32_bytes_of_base64_is_refused() {
        assert!(matches!(
            sign("not base64!", b""),
            Err(ServerError::InvalidKey(_))
        ));
        assert!(matches!(
            sign(&B64.encode([1u8; 31]), b""),
            Err(ServerError::InvalidKey(_))
        ));
    }

    #[test]
    fn key_files_round_trip_and_the_secret_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (secret_path, public_path, public) = write_key_pair(dir.path()).unwrap();
        let seed = read_key_file(&secret_path).unwrap();
        assert_eq!(public_key(&seed), public);
        assert_eq!(std::fs::read_to_string(public_path).unwrap().trim(), public);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secret_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_key_pair(dir.path()).is_err());
    }
}
