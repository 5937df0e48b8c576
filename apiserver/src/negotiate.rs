//! Content negotiation for the OpenAPI documents, as kube-openapi's handler does it
//! (k8s.io/kube-openapi/pkg/handler): the `Accept` clauses in order of preference, and
//! for the first clause any offer matches, the first offer it matches, JSON before
//! protobuf.

/// What `/openapi/v2` answers protobuf with, whichever spelling was asked for.
pub const OPENAPI_V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// The media ranges read from one `Accept` header; later ones are ignored.
const ACCEPT_CLAUSES_MAX: usize = 32;

/// The forms an OpenAPI document is served in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenApiForm {
    Json,
    /// gnostic's `openapi.v2.Document`.
    Protobuf,
}

/// kube's offers, in its order. client-go's `OpenAPISchema()` asks for the deprecated
/// spelling (with `@`) and nothing else.
const OFFERS: &[(&str, &str, OpenApiForm)] = &[
    ("application", "json", OpenApiForm::Json),
    (
        "application",
        "com.github.proto-openapi.spec.v2@v1.0+protobuf",
        OpenApiForm::Protobuf,
    ),
    (
        "application",
        "com.github.proto-openapi.spec.v2.v1.0+protobuf",
        OpenApiForm::Protobuf,
    ),
];

/// The form to answer an `Accept` header with; None is kube's 406. Protobuf is offered
/// only when `protobuf` is (the v2 document; the v3 ones are served in JSON alone).
pub fn openapi_form(accept: &str, protobuf: bool) -> Option<OpenApiForm> {
    let accept = if accept.trim().is_empty() {
        "*/*"
    } else {
        accept
    };
    let mut clauses: Vec<Clause<'_>> = accept
        .split(',')
        .take(ACCEPT_CLAUSES_MAX)
        .filter_map(Clause::parse)
        .collect();
    // goautoneg's order: preferred first, then the more specific at equal preference.
    clauses.sort_by(|a, b| b.q.total_cmp(&a.q).then(a.wildcards().cmp(&b.wildcards())));
    let offers = OFFERS
        .iter()
        .filter(|&&(_, _, form)| protobuf || form == OpenApiForm::Json);
    let offers: Vec<_> = offers.collect();
    clauses.iter().find_map(|clause| {
        offers
            .iter()
            .find(|&&&(kind, sub_kind, _)| clause.matches(kind, sub_kind))
            .map(|&&(_, _, form)| form)
    })
}

/// One media range of an `Accept` header: `type/subtype;q=0.9`.
struct Clause<'a> {
    kind: &'a str,
    sub_kind: &'a str,
    q: f32,
}

impl<'a> Clause<'a> {
    /// None for a malformed range or one refused (`q=0`).
    fn parse(text: &'a str) -> Option<Clause<'a>> {
        let mut parts = text.split(';');
        let (kind, sub_kind) = parts.next()?.trim().split_once('/')?;
        let mut q = 1.0;
        for parameter in parts {
            if let Some(("q", value)) = parameter.trim().split_once('=') {
                q = value.trim().parse::<f32>().ok().filter(|q| q.is_finite())?;
            }
        }
        (q > 0.0 && !kind.is_empty() && !sub_kind.is_empty()).then_some(Clause {
            kind: kind.trim(),
            sub_kind: sub_kind.trim(),
            q,
        })
    }

    fn wildcards(&self) -> u8 {
        u8::from(self.kind == "*") + u8::from(self.sub_kind == "*")
    }

    fn matches(&self, kind: &str, sub_kind: &str) -> bool {
        (self.kind == "*" || self.kind.eq_ignore_ascii_case(kind))
            && (self.sub_kind == "*" || self.sub_kind.eq_ignore_ascii_case(sub_kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OpenApiForm::{Json, Protobuf};

    #[test]
    fn json_unless_protobuf_is_asked_for_first() {
        let cases: &[(&str, Option<OpenApiForm>)] = &[
            ("", Some(Json)),
            ("*/*", Some(Json)),
            ("application/*", Some(Json)),
            ("application/json", Some(Json)),
            ("application/json, */*", Some(Json)),
            // client-go's OpenAPISchema().
            (
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                Some(Protobuf),
            ),
            (
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                Some(Protobuf),
            ),
            (
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json;q=0.9",
                Some(Protobuf),
            ),
            (
                "application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                Some(Protobuf),
            ),
            ("*/*, application/com.github.proto-openapi.spec.v2@v1.0+protobuf", Some(Protobuf)),
            ("application/json;q=0", None),
            ("application/vnd.kubernetes.protobuf", None),
            ("text/plain, nonsense", None),
        ];
        for &(accept, form) in cases {
            assert_eq!(openapi_form(accept, true), form, "{accept}");
        }
    }

    #[test]
    fn v3_is_json_only() {
        assert_eq!(openapi_form("", false), Some(Json));
        assert_eq!(
            openapi_form(
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                false
            ),
            None
        );
        assert_eq!(
            openapi_form(
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, */*;q=0.1",
                false
            ),
            Some(Json)
        );
    }
}
