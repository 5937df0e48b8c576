//! ConfigMap and Secret rules.

use super::*;

// ---- Configuration ------------------------------------------------------------------

#[test]
fn config_map_rules() {
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "game-demo", "namespace": "default"},
        "data": {"player_initial_lives": "3", "ui_properties_file_name": "user-interface.properties",
            "game.properties": "enemy.types=aliens,monsters\nplayer.maximum-lives=5\n"}});
    assert_valid("v1", "ConfigMap", &config_map);
    for bad in ["a b", "..hidden", ".", "x/y"] {
        let object = with(config_map.clone(), "data", json!({bad: "v"}));
        assert_cause(
            "v1",
            "ConfigMap",
            &object,
            &format!("data[{bad}]"),
            "FieldValueInvalid",
        );
    }
    let big = "x".repeat(CONFIG_DATA_LIMIT_BYTES + 1);
    assert_cause(
        "v1",
        "ConfigMap",
        &with(config_map.clone(), "data", json!({"big": big})),
        "",
        "FieldValueTooLong",
    );
    let both = with(
        config_map.clone(),
        "binaryData",
        json!({"game.properties": "AAAA"}),
    );
    assert_cause(
        "v1",
        "ConfigMap",
        &both,
        "binaryData[game.properties]",
        "FieldValueInvalid",
    );
    let frozen = with(config_map.clone(), "immutable", json!(true));
    let changed = with(frozen.clone(), "data.player_initial_lives", json!("4"));
    assert!(has(
        &validate_update("v1", "ConfigMap", &changed, &frozen),
        "data",
        "FieldValueForbidden"
    ));
    let thawed = with(frozen.clone(), "immutable", json!(false));
    assert!(has(
        &validate_update("v1", "ConfigMap", &thawed, &frozen),
        "immutable",
        "FieldValueForbidden"
    ));
    let edited = with(config_map.clone(), "data.player_initial_lives", json!("4"));
    assert!(validate_update("v1", "ConfigMap", &edited, &config_map).is_empty());
}

#[test]
fn secret_rules() {
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dotfile-secret", "namespace": "default"},
        "data": {".secret-file": "dmFsdWUtMg0KDQo="}});
    assert_valid("v1", "Secret", &secret);
    let tls = with(secret.clone(), "type", json!("kubernetes.io/tls"));
    assert_cause("v1", "Secret", &tls, "data[tls.crt]", "FieldValueRequired");
    assert_cause("v1", "Secret", &tls, "data[tls.key]", "FieldValueRequired");
    let tls = with(
        tls,
        "data",
        json!({"tls.crt": "Y2VydA==", "tls.key": "a2V5"}),
    );
    assert!(validate_create("v1", "Secret", &tls).is_empty());
    let docker = with(
        secret.clone(),
        "type",
        json!("kubernetes.io/dockerconfigjson"),
    );
    assert_cause(
        "v1",
        "Secret",
        &docker,
        "data[.dockerconfigjson]",
        "FieldValueRequired",
    );
    let basic = with(secret.clone(), "type", json!("kubernetes.io/basic-auth"));
    assert_cause(
        "v1",
        "Secret",
        &basic,
        "data[username]",
        "FieldValueRequired",
    );
    let basic = with(basic, "stringData", json!({"username": "admin"}));
    assert!(validate_create("v1", "Secret", &basic).is_empty());
    let token = with(
        secret.clone(),
        "type",
        json!("kubernetes.io/service-account-token"),
    );
    assert_cause(
        "v1",
        "Secret",
        &token,
        "metadata.annotations[kubernetes.io/service-account.name]",
        "FieldValueRequired",
    );
    assert_cause(
        "v1",
        "Secret",
        &with(secret.clone(), "stringData", json!({"bad key": "x"})),
        "stringData[bad key]",
        "FieldValueInvalid",
    );
    let retyped = with(secret.clone(), "type", json!("kubernetes.io/ssh-auth"));
    let retyped = with(retyped, "data", json!({"ssh-privatekey": "a2V5"}));
    assert!(has(
        &validate_update("v1", "Secret", &retyped, &secret),
        "type",
        "FieldValueInvalid"
    ));
    let frozen = with(secret.clone(), "immutable", json!(true));
    let changed = with(frozen.clone(), "data", json!({"x": "eA=="}));
    assert!(has(
        &validate_update("v1", "Secret", &changed, &frozen),
        "data",
        "FieldValueForbidden"
    ));
}
