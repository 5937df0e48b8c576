//! Service account tokens, as kube's TokenRequest API issues them (`kubectl create token`):
//! a JWT naming the service account, its namespace and uid, for some audiences, until some
//! time. kactor signs with Ed25519 (`alg: EdDSA`), whose signatures are deterministic, so
//! the gateway actor signs without a source of randomness; the HTTPS shell verifies the
//! same tokens when they come back as bearer tokens (`verify`). The key is derived from the
//! cluster CA's (`ClusterCa::service_account_key`), so every gateway of a cluster signs
//! and accepts the same tokens without another file to share.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{self, Ed25519KeyPair, KeyPair as _};
use serde_json::{json, Value};

use super::api::{ApiError, Stamp, User};
use super::object;
use kactor_kube::status::Cause;

/// The issuer, and the audience a token must name to be accepted by the API (kube's default
/// `--service-account-issuer` and `--api-audiences`).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// kube's default and shortest token lifetimes (`kubectl create token --duration`).
pub const EXPIRATION_SECONDS_DEFAULT: i64 = 3600;
pub const EXPIRATION_SECONDS_MIN: i64 = 600;
/// The longest lifetime a request may ask for: kube's limit on the field (2^32 s).
pub const EXPIRATION_SECONDS_MAX: i64 = 1 << 32;
/// Audiences one token may name: each is a string in every request that carries it.
pub const AUDIENCES_MAX: usize = 16;
/// Bytes of a bearer token the shell will try to verify as a JWT.
pub const TOKEN_BYTES_MAX: usize = 16 * 1024;
/// Clock skew tolerated between the gateway that issued a token and the shell that checks it.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Bytes of an Ed25519 seed: the signing key, as `GatewayConfig::service_account_key`
/// holds it.
pub const KEY_SEED_BYTES: usize = 32;

fn key_pair(seed: &[u8]) -> Option<Ed25519KeyPair> {
    if seed.len() != KEY_SEED_BYTES {
        return None;
    }
    Ed25519KeyPair::from_seed_unchecked(seed).ok()
}

/// The public half of the signing key `seed`, which verifies its tokens.
pub fn public_key(seed: &[u8]) -> Result<Vec<u8>, String> {
    let pair = key_pair(seed).ok_or("a service account key is a 32-byte Ed25519 seed")?;
    Ok(pair.public_key().as_ref().to_vec())
}

/// The TokenRequest kube answers: `request` with its `status.token` and expiry, for the
/// service account `account` (the stored object) at `stamp`.
pub fn issue(
    seed: &[u8],
    account: &Value,
    request: &Value,
    stamp: Stamp,
) -> Result<Value, ApiError> {
    let name = object::name(account);
    let namespace = object::meta_str(account, "namespace").unwrap_or_default();
    let uid = object::meta_str(account, "uid").unwrap_or_default();
    let spec = &request["spec"];
    let audiences: Vec<String> = match spec["audiences"].as_array() {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec![ISSUER.to_string()],
    };
    let seconds = spec["expirationSeconds"]
        .as_i64()
        .unwrap_or(EXPIRATION_SECONDS_DEFAULT);
    let mut causes = Vec::new();
    if seconds < EXPIRATION_SECONDS_MIN {
        let detail = "may not specify a duration less than 10 minutes";
        causes.push(Cause::invalid(
            "spec.expirationSeconds",
            &seconds.to_string(),
            detail,
        ));
    }
    if seconds > EXPIRATION_SECONDS_MAX {
        let detail = "may not specify a duration larger than 2^32 seconds";
        causes.push(Cause::invalid(
            "spec.expirationSeconds",
            &seconds.to_string(),
            detail,
        ));
    }
    if audiences.len() > AUDIENCES_MAX {
        let detail = format!("may not name more than {AUDIENCES_MAX} audiences");
        causes.push(Cause::invalid(
            "spec.audiences",
            &audiences.len().to_string(),
            &detail,
        ));
    }
    if !spec["boundObjectRef"].is_null() {
        let detail = "binding a token to an object is not supported";
        causes.push(Cause::invalid("spec.boundObjectRef", "{...}", detail));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            name,
            causes,
        ));
    }
    let issued_at = i64::try_from(stamp.unix_ms / 1000).unwrap_or(i64::MAX);
    let expires = issued_at.saturating_add(seconds);
    let claims = json!({
        "aud": audiences,
        "exp": expires,
        "iat": issued_at,
        "iss": ISSUER,
        "jti": object::uid(stamp.entropy),
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
        "nbf": issued_at,
        "sub": format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"),
    });
    let token = sign(seed, &claims)?;
    let expiry_ms = u64::try_from(expires).unwrap_or(0).saturating_mul(1000);
    Ok(json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "metadata": {"name": name, "namespace": namespace,
                     "creationTimestamp": kactor_kube::time::timestamp(stamp.unix_ms)},
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": null},
        "status": {"token": token, "expirationTimestamp": kactor_kube::time::timestamp(expiry_ms)},
    }))
}

fn sign(seed: &[u8], claims: &Value) -> Result<String, ApiError> {
    let pair = key_pair(seed).ok_or_else(|| {
        ApiError::unavailable("the server has no service account signing key".into())
    })?;
    let header = json!({"alg": "EdDSA", "typ": "JWT"});
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = pair.sign(signed.as_bytes());
    Ok(format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}

/// A service account token's identity, if `token` is one this server signed with the key
/// whose public half is `public_key`, for the API's audience, and valid at `now_seconds`.
/// The uid is returned so the caller can check that the account still exists.
pub fn verify(public_key: &[u8], token: &str, now_seconds: i64) -> Option<(User, String)> {
    if token.len() > TOKEN_BYTES_MAX {
        return None;
    }
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
    let header: Value = serde_json::from_slice(&decode(header)?).ok()?;
    if header["alg"] != "EdDSA" {
        return None;
    }
    let signed = &token[..token.rfind('.')?];
    let key = signature::UnparsedPublicKey::new(&signature::ED25519, public_key);
    key.verify(signed.as_bytes(), &decode(signature)?).ok()?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).ok()?;
    let audiences = claims["aud"].as_array()?;
    let (expires, not_before) = (claims["exp"].as_i64()?, claims["nbf"].as_i64()?);
    let fresh = now_seconds <= expires + CLOCK_SKEW_SECONDS
        && not_before - CLOCK_SKEW_SECONDS <= now_seconds;
    if claims["iss"] != ISSUER || !audiences.iter().any(|a| a == ISSUER) || !fresh {
        return None;
    }
    let account = &claims["kubernetes.io"];
    let namespace = account["namespace"].as_str()?;
    let name = account["serviceaccount"]["name"].as_str()?;
    let uid = account["serviceaccount"]["uid"].as_str()?.to_string();
    let user = User {
        name: format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"),
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{namespace}"),
            "system:authenticated".into(),
        ],
    };
    (claims["sub"] == user.name.as_str()).then_some((user, uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Value {
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "robot", "namespace": "team", "uid": "u-1"}})
    }

    const NOW_MS: u64 = 1_700_000_000_000;

    fn stamp() -> Stamp {
        Stamp {
            unix_ms: NOW_MS,
            entropy: 7,
        }
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires_and_not_after_any_change() {
        let key = [7u8; KEY_SEED_BYTES];
        let public = public_key(&key).unwrap();
        let request = json!({"spec": {}});
        let answer = issue(&key, &account(), &request, stamp()).unwrap();
        assert_eq!(
            answer["spec"]["expirationSeconds"],
            EXPIRATION_SECONDS_DEFAULT
        );
        assert_eq!(
            answer["status"]["expirationTimestamp"],
            "2023-11-14T23:13:20Z"
        );
        let token = answer["status"]["token"].as_str().unwrap();
        // Deterministic: the same request at the same moment signs the same token.
        let again = issue(&key, &account(), &request, stamp()).unwrap();
        assert_eq!(again["status"]["token"], token);
        let now = (NOW_MS / 1000) as i64;
        let (user, uid) = verify(&public, token, now).unwrap();
        assert_eq!(user.name, "system:serviceaccount:team:robot");
        assert_eq!(
            user.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:team",
                "system:authenticated"
            ]
        );
        assert_eq!(uid, "u-1");
        let late = now + EXPIRATION_SECONDS_DEFAULT + CLOCK_SKEW_SECONDS + 1;
        assert!(verify(&public, token, late).is_none(), "expired");
        // Another key, a flipped byte anywhere, or another audience: refused.
        let other = public_key(&[8u8; KEY_SEED_BYTES]).unwrap();
        assert!(verify(&other, token, now).is_none());
        for at in 0..token.len() {
            let mut bytes = token.as_bytes().to_vec();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8_lossy(&bytes);
            assert!(verify(&public, &tampered, now).is_none(), "byte {at}");
        }
        let elsewhere = json!({"spec": {"audiences": ["vault"]}});
        let answer = issue(&key, &account(), &elsewhere, stamp()).unwrap();
        let token = answer["status"]["token"].as_str().unwrap();
        assert!(verify(&public, token, now).is_none(), "not for the API");
        assert!(verify(&public, "a.b", now).is_none());
        assert!(verify(&public, &"x".repeat(TOKEN_BYTES_MAX + 1), now).is_none());
    }

    #[test]
    fn token_requests_are_validated_as_kube_validates_them() {
        let key = [7u8; KEY_SEED_BYTES];
        let short = json!({"spec": {"expirationSeconds": 60}});
        let error = issue(&key, &account(), &short, stamp()).unwrap_err();
        assert_eq!(error.code, 422);
        assert!(error.message.contains("spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"), "{}", error.message);
        let bound = json!({"spec": {"boundObjectRef": {"kind": "Pod", "name": "p"}}});
        assert_eq!(
            issue(&key, &account(), &bound, stamp()).unwrap_err().code,
            422
        );
        let error = issue(&[], &account(), &json!({"spec": {}}), stamp()).unwrap_err();
        assert_eq!(error.code, 503);
    }
}
