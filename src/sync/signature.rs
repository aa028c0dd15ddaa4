//! Ed25519 verification of synced rule packs: a pack is trusted only if one
//! of the configured public keys (several, for rotation) signed its exact
//! bytes. Verify only — the SDK never holds a signing key.

use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};

/// The configured public keys, parsed once.
#[derive(Debug, Clone, Default)]
pub struct PackKeys {
    keys: Vec<VerifyingKey>,
}

impl PackKeys {
    /// Parses standard-base64 32-byte keys; returns the keys that parsed and
    /// a message per key that did not (for the log).
    pub fn parse(encoded: &[String]) -> (PackKeys, Vec<String>) {
        let mut keys = Vec::new();
        let mut problems = Vec::new();
        for (i, k) in encoded.iter().enumerate() {
            let parsed = base64::engine::general_purpose::STANDARD
                .decode(k.trim())
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    <[u8; 32]>::try_from(b.as_slice())
                        .map_err(|_| format!("{} bytes, not 32", b.len()))
                })
                .and_then(|b| VerifyingKey::from_bytes(&b).map_err(|e| e.to_string()));
            match parsed {
                Ok(key) => keys.push(key),
                Err(e) => problems.push(format!("pack public key #{i} is unusable: {e}")),
            }
        }
        (PackKeys { keys }, problems)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks `signature` (the `X-Reach-Signature` header) over `body`.
    pub fn verify(&self, body: &[u8], signature: Option<&str>) -> Result<(), String> {
        let Some(sig) = signature else {
            return Err("the pack is unsigned (no X-Reach-Signature header)".into());
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sig.trim())
            .map_err(|e| format!("the pack signature is not base64: {e}"))?;
        let sig = Signature::from_slice(&bytes)
            .map_err(|_| format!("the pack signature is {} bytes, not 64", bytes.len()))?;
        if self
            .keys
            .iter()
            .any(|k| k.verify_strict(body, &sig).is_ok())
        {
            Ok(())
        } else {
            Err("the pack signature does not verify with any configured key (tampered, or signed with another key)".into())
        }
    }
}
