//! The remote wire format of one result: a JSON header line, then the payload (the same
//! bytes the disk cache stores). Restoring checks the key, the engine version, the length
//! and SHA-256 of the payload and, with a signing key, its HMAC-SHA256: anything else is a
//! miss, so a shared cache can cost extra work but never give a wrong answer.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the wire format; entries of another format are refused.
const WIRE_FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    key: String,
    engine: String,
    len: u64,
    sha256: String,
    /// HMAC-SHA256 of the fields above (hex), when the writer held a signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hmac: Option<String>,
}

/// Why a fetched entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not an entry of ours, of another format, engine or key.
    Foreign,
    /// Shorter or longer than its header says, or its checksum does not match.
    Damaged,
    /// This reader holds a signing key and the entry carries no signature, or a wrong one.
    Unsigned,
}

fn signed_fields(h: &Header) -> Vec<u8> {
    // Lengths first, so no two field lists sign the same bytes.
    let mut out = Vec::new();
    for field in [h.key.as_str(), h.engine.as_str(), h.sha256.as_str()] {
        out.extend_from_slice(&(field.len() as u64).to_le_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out.extend_from_slice(&h.format.to_le_bytes());
    out.extend_from_slice(&h.len.to_le_bytes());
    out
}

fn mac(signing_key: &[u8], h: &Header) -> Option<Hmac<Sha256>> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(signing_key).ok()?;
    m.update(&signed_fields(h));
    Some(m)
}

/// The wire bytes of `payload` stored under `key_hex`, signed when a key is given.
pub fn encode(key_hex: &str, payload: &[u8], signing_key: Option<&[u8]>) -> Vec<u8> {
    let mut header = Header {
        format: WIRE_FORMAT,
        key: key_hex.to_string(),
        engine: crate::ENGINE_VERSION.to_string(),
        len: payload.len() as u64,
        sha256: hex::encode(Sha256::digest(payload)),
        hmac: None,
    };
    header.hmac = signing_key
        .and_then(|k| mac(k, &header))
        .map(|m| hex::encode(m.finalize().into_bytes()));
    // A header of strings and numbers always serializes; an empty line is refused on read.
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(payload);
    out
}

/// The payload of `bytes` if it is a whole entry for `key_hex` of this engine (and signed
/// with `signing_key`, when one is given).
pub fn decode<'a>(
    bytes: &'a [u8],
    key_hex: &str,
    signing_key: Option<&[u8]>,
) -> Result<&'a [u8], Refusal> {
    let newline = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or(Refusal::Damaged)?;
    let header: Header = serde_json::from_slice(&bytes[..newline]).map_err(|_| Refusal::Foreign)?;
    if header.format != WIRE_FORMAT
        || header.key != key_hex
        || header.engine != crate::ENGINE_VERSION
    {
        return Err(Refusal::Foreign);
    }
    let payload = &bytes[newline + 1..];
    if payload.len() as u64 != header.len || hex::encode(Sha256::digest(payload)) != header.sha256 {
        return Err(Refusal::Damaged);
    }
    if let Some(k) = signing_key {
        let given = header
            .hmac
            .as_deref()
            .and_then(|h| hex::decode(h).ok())
            .ok_or(Refusal::Unsigned)?;
        let m = mac(k, &header).ok_or(Refusal::Unsigned)?;
        // Constant-time comparison.
        m.verify_slice(&given).map_err(|_| Refusal::Unsigned)?;
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ab01";

    #[test]
    fn a_whole_entry_round_trips_signed_or_not() {
        let plain = encode(KEY, b"{\"v\":1}", None);
        assert_eq!(decode(&plain, KEY, None), Ok(&b"{\"v\":1}"[..]));
        let signed = encode(KEY, b"payload", Some(b"secret"));
        assert_eq!(decode(&signed, KEY, Some(b"secret")), Ok(&b"payload"[..]));
        // A reader without the key still checks everything else.
        assert_eq!(decode(&signed, KEY, None), Ok(&b"payload"[..]));
    }

    #[test]
    fn truncated_tampered_and_foreign_entries_are_refused() {
        let good = encode(KEY, b"the payload bytes", None);
        assert_eq!(
            decode(&good[..good.len() - 3], KEY, None),
            Err(Refusal::Damaged)
        );
        let mut tampered = good.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(decode(&tampered, KEY, None), Err(Refusal::Damaged));
        assert_eq!(decode(&good, "cd02", None), Err(Refusal::Foreign));
        assert_eq!(decode(b"", KEY, None), Err(Refusal::Damaged));
        assert_eq!(decode(b"garbage\n", KEY, None), Err(Refusal::Foreign));
        let other_engine = String::from_utf8(good)
            .unwrap()
            .replace(crate::ENGINE_VERSION, "clnrm-lsp@0.0.0");
        assert_eq!(
            decode(other_engine.as_bytes(), KEY, None),
            Err(Refusal::Foreign)
        );
    }

    #[test]
    fn a_signing_reader_refuses_unsigned_wrongly_signed_and_re_checksummed_entries() {
        let unsigned = encode(KEY, b"payload", None);
        assert_eq!(
            decode(&unsigned, KEY, Some(b"secret")),
            Err(Refusal::Unsigned)
        );
        let other = encode(KEY, b"payload", Some(b"not the key"));
        assert_eq!(decode(&other, KEY, Some(b"secret")), Err(Refusal::Unsigned));
        // A forger who rewrites the payload and its checksum cannot re-sign the header.
        let signed = encode(KEY, b"passed", Some(b"secret"));
        let text = String::from_utf8(signed).unwrap();
        let forged = text
            .replace(
                &hex::encode(Sha256::digest(b"passed")),
                &hex::encode(Sha256::digest(b"failed")),
            )
            .replace("passed", "failed");
        assert_eq!(
            decode(forged.as_bytes(), KEY, Some(b"secret")),
            Err(Refusal::Unsigned)
        );
    }
}
