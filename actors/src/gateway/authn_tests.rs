//! Who a request is: kube's authentication order and impersonation, decided by the gateway
//! from the credentials the HTTPS shell verified.

use serde_json::json;

use super::authn::{Credentials, Impersonation, Requester, TokenDigest, ANONYMOUS_USER};
use super::tests::{admin, create, get, with_default_namespace, Harness};
use super::*;

const ALICE_TOKEN: TokenDigest = [1; 32];
const UNKNOWN_TOKEN: TokenDigest = [2; 32];

fn harness(anonymous: bool) -> Harness {
    let mut h = Harness::new(|config| {
        config
            .static_tokens
            .insert(ALICE_TOKEN, User::new("alice", &["dev"]));
        config.anonymous_auth = anonymous;
    });
    h.tick(3); // namespaces and the bootstrap policy
    h
}

fn who(h: &Harness, credentials: Credentials, path: Option<&str>) -> Result<User, ApiError> {
    h.gateway.requester_user(Requester::from(credentials), path)
}

fn bearer(digest: TokenDigest) -> Credentials {
    Credentials {
        bearer_token: Some(digest),
        ..Credentials::default()
    }
}

#[test]
fn certificate_then_token_then_anonymous() {
    let h = harness(false);
    let certified = Credentials {
        certificate: Some(User::new("jane", &["dev"])),
        bearer_token: Some(UNKNOWN_TOKEN),
        ..Credentials::default()
    };
    let jane = who(&h, certified, None).unwrap();
    assert_eq!(jane, User::new("jane", &["dev", "system:authenticated"]));
    let alice = who(&h, bearer(ALICE_TOKEN), None).unwrap();
    assert_eq!(alice, User::new("alice", &["dev", "system:authenticated"]));
    assert_eq!(who(&h, bearer(UNKNOWN_TOKEN), None).unwrap_err().code, 401);
    assert_eq!(who(&h, Credentials::default(), None).unwrap_err().code, 401);
    // Health endpoints take anyone, so load balancers can probe them.
    let prober = who(&h, Credentials::default(), Some("/readyz/etcd")).unwrap();
    assert_eq!(prober.name, ANONYMOUS_USER);
    let not_health = who(&h, Credentials::default(), Some("/readyzz"));
    assert_eq!(not_health.unwrap_err().code, 401);
    // With anonymous requests on, no credentials is system:anonymous; a wrong token is
    // still refused.
    let open = harness(true);
    let nobody = who(&open, Credentials::default(), None).unwrap();
    assert_eq!(nobody.name, ANONYMOUS_USER);
    assert_eq!(
        who(&open, bearer(UNKNOWN_TOKEN), None).unwrap_err().code,
        401
    );
    // A mesh peer is whom its certificate says, as its host set it.
    let peer = h.gateway.requester_user(Requester::Peer(admin()), None);
    assert_eq!(peer.unwrap(), admin());
}

#[test]
fn a_service_account_token_is_good_while_its_account_lives() {
    let mut h = with_default_namespace();
    let account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "robot", "namespace": "default"}});
    let (_, created) = h
        .call(create("serviceaccounts", Some("default"), account))
        .unwrap();
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();
    let robot = User::new(
        "system:serviceaccount:default:robot",
        &["system:serviceaccounts", "system:authenticated"],
    );
    let token = |uid: &str| Credentials {
        bearer_token: Some(UNKNOWN_TOKEN),
        service_account: Some((robot.clone(), uid.to_string())),
        ..Credentials::default()
    };
    assert_eq!(who(&h, token(&uid), None).unwrap(), robot);
    // A token of an earlier account of the same name names another uid.
    assert_eq!(who(&h, token("an-older-uid"), None).unwrap_err().code, 401);
    let mut delete = get("serviceaccounts", Some("default"), "robot");
    delete.verb = Verb::Delete;
    h.call(delete).unwrap();
    assert_eq!(who(&h, token(&uid), None).unwrap_err().code, 401);
}

fn impersonating(name: &str, groups: &[&str]) -> Impersonation {
    Impersonation {
        user: Some(name.to_string()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        uid_or_extra: false,
    }
}

#[test]
fn impersonation_is_what_rbac_lets_the_real_user_impersonate() {
    let h = harness(false);
    let as_user = |user: User, impersonation: Impersonation| Credentials {
        certificate: Some(user),
        impersonation,
        ..Credentials::default()
    };
    let jane = User::new("jane", &["dev"]);
    let refused = who(&h, as_user(jane.clone(), impersonating("admin", &[])), None);
    let refused = refused.unwrap_err();
    assert_eq!(refused.code, 403);
    assert!(
        refused.message.contains(
            r#"users "admin" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope"#
        ),
        "{}",
        refused.message
    );
    let acting = who(&h, as_user(admin(), impersonating("jane", &["dev"])), None).unwrap();
    assert_eq!(acting, User::new("jane", &["dev", "system:authenticated"]));
    let robot = who(
        &h,
        as_user(
            admin(),
            impersonating("system:serviceaccount:team:robot", &[]),
        ),
        None,
    );
    assert!(robot.unwrap().in_group("system:serviceaccounts:team"));
    // Groups without a user, or a uid, cannot be carried: 400, never another identity.
    let groups_only = Impersonation {
        user: None,
        groups: vec!["dev".into()],
        uid_or_extra: false,
    };
    assert_eq!(
        who(&h, as_user(admin(), groups_only), None)
            .unwrap_err()
            .code,
        400
    );
    let with_uid = Impersonation {
        uid_or_extra: true,
        ..impersonating("jane", &[])
    };
    assert_eq!(
        who(&h, as_user(admin(), with_uid), None).unwrap_err().code,
        400
    );
}

#[test]
fn an_unauthenticated_request_gets_401_from_the_gateway() {
    let mut h = harness(false);
    let (_, outcome) = h.answer_as(get("namespaces", None, "default"), Credentials::default());
    let ApiOutcome::Err(error) = outcome else {
        panic!("answered {outcome:?}");
    };
    assert_eq!(error.code, 401);
    let (_, outcome) = h.answer_as(get("namespaces", None, "default"), bearer(ALICE_TOKEN));
    let ApiOutcome::Err(error) = outcome else {
        panic!("alice may not read namespaces: {outcome:?}");
    };
    assert_eq!(error.code, 403, "{error:?}");
}
