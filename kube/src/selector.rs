//! Label and field selectors as apimachinery parses, prints and matches them, and the
//! name validators (qualified names, label values, DNS names) object validation shares.
//!
//! Error texts follow apimachinery word for word where clients may match on them
//! (`labels.Parse`, `NewRequirement`, `LabelSelectorAsSelector`, `fields.ParseSelector`
//! and `k8s.io/apimachinery/pkg/util/validation`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

/// Longest selector text accepted, in bytes. Selectors travel in URL query strings,
/// which proxies commonly cap near 8 KiB; twice that bounds parse work per request
/// without refusing any selector a real client sends.
pub const SELECTOR_CHARS_MAX: usize = 16 * 1024;

/// Longest name part of a qualified name (label key): it must fit one DNS label.
pub const QUALIFIED_NAME_CHARS_MAX: usize = 63;

/// Longest label value, the same DNS-label bound apimachinery applies.
pub const LABEL_VALUE_CHARS_MAX: usize = 63;

/// Longest RFC 1123 subdomain: the DNS limit on a full name.
pub const DNS1123_SUBDOMAIN_CHARS_MAX: usize = 253;

/// Longest RFC 1123 label: the DNS limit on one label.
pub const DNS1123_LABEL_CHARS_MAX: usize = 63;

/// Longest RFC 1035 label: the DNS limit on one label.
pub const DNS1035_LABEL_CHARS_MAX: usize = 63;

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of \
     alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
     character";
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case \
     alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower \
     case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric \
     character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric \
     characters or '-', start with an alphabetic character, and end with an alphanumeric \
     character";

/// The binary operators `labels.Parse` lists when it finds something else.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

/// Why a selector was refused; the message is what the API returns in a 400.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SelectorError {
    message: String,
}

impl SelectorError {
    fn new(message: impl Into<String>) -> SelectorError {
        SelectorError {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SelectorError {}

/// A label requirement's operator; `==` parses to `Equals`, as the two mean the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

/// One condition on one label key, validated as `labels.NewRequirement` validates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

impl Requirement {
    /// Builds a requirement, or fails with `NewRequirement`'s aggregated field errors.
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, SelectorError> {
        build_requirement(key.into(), operator, values, EmptyValues::Empty)
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    pub fn values(&self) -> &BTreeSet<String> {
        &self.values
    }

    /// Whether `labels` satisfy this requirement, by `Requirement.Matches`' rules: a
    /// missing key fails `=`, `in`, `gt`, `lt` and passes `!=`, `notin`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let actual = labels.get(&self.key);
        match self.operator {
            Operator::Equals | Operator::In => actual.is_some_and(|v| self.values.contains(v)),
            Operator::NotEquals | Operator::NotIn => {
                actual.is_none_or(|v| !self.values.contains(v))
            }
            Operator::Exists => actual.is_some(),
            Operator::DoesNotExist => actual.is_none(),
            Operator::Gt | Operator::Lt => self.matches_integer(actual),
        }
    }

    fn matches_integer(&self, actual: Option<&String>) -> bool {
        let Some(actual) = actual.and_then(|v| parse_go_int64(v)) else {
            return false;
        };
        let mut values = self.values.iter();
        let (Some(bound), None) = (values.next(), values.next()) else {
            return false;
        };
        let Some(bound) = parse_go_int64(bound) else {
            return false;
        };
        match self.operator {
            Operator::Gt => actual > bound,
            Operator::Lt => actual < bound,
            _ => false,
        }
    }
}

/// Prints the requirement as `Requirement.String` does (values sorted).
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        let values = self
            .values
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(",");
        match self.operator {
            Operator::Exists => write!(f, "{key}"),
            Operator::DoesNotExist => write!(f, "!{key}"),
            Operator::Equals => write!(f, "{key}={values}"),
            Operator::NotEquals => write!(f, "{key}!={values}"),
            Operator::In => write!(f, "{key} in ({values})"),
            Operator::NotIn => write!(f, "{key} notin ({values})"),
            Operator::Gt => write!(f, "{key}>{values}"),
            Operator::Lt => write!(f, "{key}<{values}"),
        }
    }
}

/// A conjunction of label requirements, kept sorted by key as apimachinery keeps them.
///
/// Kubernetes gives an absent API selector and an empty one opposite meanings: an empty
/// `LabelSelector {}` selects everything, while no selector at all selects nothing
/// (`LabelSelectorAsSelector(nil)` is `labels.Nothing()`). `from_optional_api`
/// encodes that; `everything()` and `nothing()` name the two ends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    /// Set only by `nothing()`: no requirement list can express "match nothing".
    selects_nothing: bool,
}

impl LabelSelector {
    /// The selector with no requirements, matching every label set.
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// The selector matching no label set, as Kubernetes reads an absent API selector.
    /// Like `labels.Nothing()` it prints as the empty string, which parses back as
    /// `everything()`: never round-trip it through text.
    pub fn nothing() -> LabelSelector {
        LabelSelector {
            requirements: Vec::new(),
            selects_nothing: true,
        }
    }

    /// Requirements in any order; they are stably sorted by key.
    pub fn new(mut requirements: Vec<Requirement>) -> LabelSelector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            selects_nothing: false,
        }
    }

    /// Parses the string form `labels.Parse` accepts, e.g.
    /// `a=b,c!=d,e in (x,y),f notin (z),g,!h,k==v`; the empty string selects everything.
    pub fn parse(text: &str) -> Result<LabelSelector, SelectorError> {
        if text.len() > SELECTOR_CHARS_MAX {
            return Err(SelectorError::new(format!(
                "label selector is {} bytes long, more than the {SELECTOR_CHARS_MAX} allowed",
                text.len()
            )));
        }
        let mut parser = Parser {
            tokens: lex(text),
            position: 0,
        };
        let requirements = parser.parse().map_err(SelectorError::new)?;
        Ok(LabelSelector::new(requirements))
    }

    /// Converts an API selector as `LabelSelectorAsSelector` does: `matchLabels` become
    /// `=` requirements, `matchExpressions` take `In`, `NotIn`, `Exists`, `DoesNotExist`.
    /// An empty selector (`{}`) selects everything.
    pub fn from_api(selector: &meta::LabelSelector) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(build_requirement(
                key.clone(),
                Operator::Equals,
                vec![value.clone()],
                EmptyValues::Nil,
            )?);
        }
        for expression in selector.match_expressions.iter().flatten() {
            let operator = match expression.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::new(format!(
                        "{} is not a valid label selector operator",
                        go_quote(other)
                    )))
                }
            };
            let values = expression.values.clone().unwrap_or_default();
            requirements.push(build_requirement(
                expression.key.clone(),
                operator,
                values,
                EmptyValues::Nil,
            )?);
        }
        Ok(LabelSelector::new(requirements))
    }

    /// Like `from_api`, but an absent selector selects nothing, as in Kubernetes.
    pub fn from_optional_api(
        selector: Option<&meta::LabelSelector>,
    ) -> Result<LabelSelector, SelectorError> {
        selector.map_or_else(|| Ok(LabelSelector::nothing()), LabelSelector::from_api)
    }

    /// A selector requiring every pair of `labels` exactly (`SelectorFromValidatedSet`
    /// after validation), as a Service's or ReplicationController's map selector means.
    pub fn from_match_labels(
        labels: &BTreeMap<String, String>,
    ) -> Result<LabelSelector, SelectorError> {
        let selector = meta::LabelSelector {
            match_labels: Some(labels.clone()),
            match_expressions: None,
        };
        LabelSelector::from_api(&selector)
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True for `everything()`: no requirements, so every label set matches.
    pub fn is_empty(&self) -> bool {
        !self.selects_nothing && self.requirements.is_empty()
    }

    /// True for `nothing()`.
    pub fn selects_nothing(&self) -> bool {
        self.selects_nothing
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.selects_nothing && self.requirements.iter().all(|r| r.matches(labels))
    }
}

/// Prints the canonical string form, requirements sorted by key, as `Selector.String`.
/// The string form of a selector: its requirements joined by commas.
fn write_comma_separated<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(",")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_comma_separated(f, &self.requirements)
    }
}

impl FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<LabelSelector, SelectorError> {
        LabelSelector::parse(text)
    }
}

/// How `NewRequirement`'s errors print an empty value list: Go prints a nil slice
/// (what `LabelSelectorAsSelector` passes) differently from an empty one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EmptyValues {
    Nil,
    Empty,
}

fn build_requirement(
    key: String,
    operator: Operator,
    values: Vec<String>,
    empty_values: EmptyValues,
) -> Result<Requirement, SelectorError> {
    let errors = requirement_errors(&key, operator, &values, empty_values);
    if let Some(message) = aggregate(errors) {
        return Err(SelectorError::new(message));
    }
    Ok(Requirement {
        key,
        operator,
        values: values.into_iter().collect(),
    })
}

/// `NewRequirement`'s field errors, each as `path: Invalid value: <value>: <detail>`.
fn requirement_errors(
    key: &str,
    operator: Operator,
    values: &[String],
    empty_values: EmptyValues,
) -> Vec<String> {
    let mut errors = Vec::new();
    let key_errors = qualified_name_errors(key);
    if !key_errors.is_empty() {
        errors.push(invalid_field("key", &go_quote(key), &key_errors.join("; ")));
    }
    let all_values = go_string_slice(values, empty_values);
    let count_detail = match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            Some("for 'in', 'notin' operators, values set can't be empty")
        }
        Operator::Equals | Operator::NotEquals if values.len() != 1 => {
            Some("exact-match compatibility requires one single value")
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            Some("values set must be empty for exists and does not exist")
        }
        Operator::Gt | Operator::Lt if values.len() != 1 => {
            Some("for 'Gt', 'Lt' operators, exactly one value is required")
        }
        _ => None,
    };
    if let Some(detail) = count_detail {
        errors.push(invalid_field("values", &all_values, detail));
    }
    if matches!(operator, Operator::Gt | Operator::Lt) {
        for (index, value) in values.iter().enumerate() {
            if parse_go_int64(value).is_none() {
                errors.push(invalid_field(
                    &format!("values[{index}]"),
                    &go_quote(value),
                    "for 'Gt', 'Lt' operators, the value must be an integer",
                ));
            }
        }
    }
    for (index, value) in values.iter().enumerate() {
        let value_errors = label_value_errors(value);
        if !value_errors.is_empty() {
            errors.push(invalid_field(
                &format!("values[{index}][{key}]"),
                &go_quote(value),
                &value_errors.join("; "),
            ));
        }
    }
    errors
}

/// One `field.Invalid` error as `field.Error.Error()` prints it.
fn invalid_field(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {value}: {detail}")
}

/// Joins errors as `utilerrors.Aggregate` does: duplicates dropped, brackets around two
/// or more.
fn aggregate(errors: Vec<String>) -> Option<String> {
    let mut unique: Vec<String> = Vec::new();
    for error in errors {
        if !unique.contains(&error) {
            unique.push(error);
        }
    }
    match unique.len() {
        0 => None,
        1 => unique.pop(),
        _ => Some(format!("[{}]", unique.join(", "))),
    }
}

/// A string as Go's `%q` prints it (close enough: both escape quotes and controls).
fn go_quote(text: &str) -> String {
    format!("{text:?}")
}

/// A string slice as Go's `%#v` prints it.
fn go_string_slice(values: &[String], empty_values: EmptyValues) -> String {
    if values.is_empty() && empty_values == EmptyValues::Nil {
        return "[]string(nil)".to_string();
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// An integer as Go's `strconv.ParseInt(s, 10, 64)` reads it (optional sign, digits).
fn parse_go_int64(text: &str) -> Option<i64> {
    text.parse::<i64>().ok()
}

/// Tokens of apimachinery's selector lexer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

#[derive(Clone, Copy, Debug)]
struct Lexed<'a> {
    token: Token,
    literal: &'a str,
}

fn keyword(literal: &str) -> Option<Token> {
    Some(match literal {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_selector_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(byte: u8) -> bool {
    matches!(byte, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits selector text into tokens, ending with `End`. Operators grow while the longer
/// spelling is still an operator (`!=`, `==`), as the apimachinery lexer scans them.
/// Unlike Go's lexer, a NUL byte is an ordinary character (and then an invalid key or
/// value) rather than an early end of input.
fn lex(text: &str) -> Vec<Lexed<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        while bytes.get(pos).copied().is_some_and(is_selector_whitespace) {
            pos += 1;
        }
        let start = pos;
        let Some(&first) = bytes.get(pos) else {
            tokens.push(Lexed {
                token: Token::End,
                literal: "",
            });
            return tokens;
        };
        if is_special_symbol(first) {
            pos += 1;
            while bytes.get(pos).copied().is_some_and(is_special_symbol)
                && text.get(start..pos + 1).and_then(keyword).is_some()
            {
                pos += 1;
            }
        } else {
            while bytes
                .get(pos)
                .is_some_and(|&b| !is_special_symbol(b) && !is_selector_whitespace(b))
            {
                pos += 1;
            }
        }
        // Token boundaries sit next to ASCII bytes, so the slice is always valid.
        let literal = text.get(start..pos).unwrap_or_default();
        let token = keyword(literal).unwrap_or(Token::Identifier);
        tokens.push(Lexed { token, literal });
    }
}

/// Whether `in` and `notin` are keywords (after a key) or plain identifiers (elsewhere).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

/// A recursive-descent parser mirroring apimachinery's `labels.Parser`, messages included.
struct Parser<'a> {
    tokens: Vec<Lexed<'a>>,
    position: usize,
}

impl<'a> Parser<'a> {
    fn lookahead(&self, context: Context) -> Lexed<'a> {
        let mut lexed = self.tokens.get(self.position).copied().unwrap_or(Lexed {
            token: Token::End,
            literal: "",
        });
        if context == Context::Values && matches!(lexed.token, Token::In | Token::NotIn) {
            lexed.token = Token::Identifier;
        }
        lexed
    }

    fn consume(&mut self, context: Context) -> Lexed<'a> {
        let lexed = self.lookahead(context);
        if self.position < self.tokens.len() {
            self.position += 1;
        }
        lexed
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let next = self.lookahead(Context::Values);
            match next.token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self
                        .parse_requirement()
                        .map_err(|error| format!("unable to parse requirement: {error}"))?;
                    requirements.push(requirement);
                    let after = self.consume(Context::Values);
                    match after.token {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            let following = self.lookahead(Context::Values);
                            if !matches!(following.token, Token::Identifier | Token::DoesNotExist) {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    following.literal
                                ));
                            }
                        }
                        _ => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                after.literal
                            ))
                        }
                    }
                }
                Token::End => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        next.literal
                    ))
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, unary_operator) = self.parse_key_and_infer_operator()?;
        let (operator, values) = match unary_operator {
            Some(operator) => (operator, Vec::new()),
            None => {
                let operator = self.parse_operator()?;
                let values = match operator {
                    Operator::In | Operator::NotIn => self.parse_values()?,
                    _ => self.parse_exact_value()?,
                };
                (operator, values)
            }
        };
        build_requirement(key, operator, values, EmptyValues::Empty).map_err(|e| e.message)
    }

    /// Reads `key` or `!key`; the operator is known already for `!key` and for a bare
    /// `key` followed by `,` or the end.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut lexed = self.consume(Context::Values);
        let mut operator = None;
        if lexed.token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            lexed = self.consume(Context::Values);
        }
        if lexed.token != Token::Identifier {
            return Err(format!("found '{}', expected: identifier", lexed.literal));
        }
        let key_errors = qualified_name_errors(lexed.literal);
        if !key_errors.is_empty() {
            // Upstream validates here with a nil field path, which Go prints as "<nil>".
            return Err(invalid_field(
                "<nil>",
                &go_quote(lexed.literal),
                &key_errors.join("; "),
            ));
        }
        let next = self.lookahead(Context::Values).token;
        if operator.is_none() && matches!(next, Token::End | Token::Comma) {
            operator = Some(Operator::Exists);
        }
        Ok((lexed.literal.to_string(), operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let lexed = self.consume(Context::KeyAndOperator);
        Ok(match lexed.token {
            Token::In => Operator::In,
            Token::Equals | Token::DoubleEquals => Operator::Equals,
            Token::GreaterThan => Operator::Gt,
            Token::LessThan => Operator::Lt,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(format!(
                    "found '{}', expected: {BINARY_OPERATORS}",
                    lexed.literal
                ))
            }
        })
    }

    fn parse_values(&mut self) -> Result<Vec<String>, String> {
        let open = self.consume(Context::Values);
        if open.token != Token::OpenPar {
            return Err(format!("found '{}' expected: '('", open.literal));
        }
        let next = self.lookahead(Context::Values);
        match next.token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                if self.consume(Context::Values).token != Token::ClosedPar {
                    return Err(format!("found '{}', expected: ')'", next.literal));
                }
                Ok(values.into_iter().collect())
            }
            // "()" is the set holding only the empty value.
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                next.literal
            )),
        }
    }

    /// Reads values up to `)`; empty slots (`(,a)`, `(a,)`, `(a,,b)`) are empty values.
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut values = BTreeSet::new();
        loop {
            let lexed = self.consume(Context::Values);
            match lexed.token {
                Token::Identifier => {
                    values.insert(lexed.literal.to_string());
                    let next = self.lookahead(Context::Values);
                    match next.token {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values),
                        _ => return Err(format!("found '{}', expected: ',' or ')'", next.literal)),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    match self.lookahead(Context::Values).token {
                        Token::ClosedPar => {
                            values.insert(String::new());
                            return Ok(values);
                        }
                        Token::Comma => {
                            self.consume(Context::Values);
                            values.insert(String::new());
                        }
                        _ => {}
                    }
                }
                _ => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        lexed.literal
                    ))
                }
            }
        }
    }

    /// Reads the value after `=`, `==`, `!=`, `>` or `<`; none at all is the empty value.
    fn parse_exact_value(&mut self) -> Result<Vec<String>, String> {
        if matches!(
            self.lookahead(Context::Values).token,
            Token::End | Token::Comma
        ) {
            return Ok(vec![String::new()]);
        }
        let lexed = self.consume(Context::Values);
        if lexed.token == Token::Identifier {
            return Ok(vec![lexed.literal.to_string()]);
        }
        Err(format!("found '{}', expected: identifier", lexed.literal))
    }
}

/// A field selector's operator: field selectors allow only `=`, `==` and `!=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldOperator {
    Equals,
    NotEquals,
}

/// One `field=value` or `field!=value` term, value unescaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldRequirement {
    field: String,
    operator: FieldOperator,
    value: String,
}

impl FieldRequirement {
    /// The field path as written (e.g. `metadata.name`); callers refuse unsupported ones.
    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn operator(&self) -> FieldOperator {
        self.operator
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operator = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(
            f,
            "{}{operator}{}",
            self.field,
            escape_field_value(&self.value)
        )
    }
}

/// A conjunction of field terms, parsed as `fields.ParseSelector` parses them. Field
/// names are not checked here: which fields exist depends on the resource, so callers
/// check `requirements()` and answer 400 for unsupported ones, as the apiserver does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    /// Parses `metadata.name=x,spec.nodeName!=,status.phase==Running`: terms split on
    /// unescaped commas, each at its first `!=`, `==` or `=`; values may escape `\`, `,`
    /// and `=` with a backslash. Whitespace is data, as upstream.
    pub fn parse(text: &str) -> Result<FieldSelector, SelectorError> {
        if text.len() > SELECTOR_CHARS_MAX {
            return Err(SelectorError::new(format!(
                "field selector is {} bytes long, more than the {SELECTOR_CHARS_MAX} allowed",
                text.len()
            )));
        }
        let mut requirements = Vec::new();
        for term in split_field_terms(text) {
            if term.is_empty() {
                continue;
            }
            let Some((field, operator, raw_value)) = split_field_term(term) else {
                return Err(SelectorError::new(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                )));
            };
            requirements.push(FieldRequirement {
                field: field.to_string(),
                operator,
                value: unescape_field_value(raw_value)?,
            });
        }
        // Term order carries no meaning; sorting makes equal selectors compare equal.
        requirements.sort();
        Ok(FieldSelector { requirements })
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object matches, given its value for each field; a field the object
    /// lacks (`None`) reads as the empty string, as `fields.Set.Get` does.
    pub fn matches(&self, fields: &dyn Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|requirement| {
            let actual = fields(&requirement.field).unwrap_or_default();
            match requirement.operator {
                FieldOperator::Equals => actual == requirement.value,
                FieldOperator::NotEquals => actual != requirement.value,
            }
        })
    }
}

/// Prints terms joined by commas, values escaped as `fields.EscapeValue` does.
impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_comma_separated(f, &self.requirements)
    }
}

impl FromStr for FieldSelector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<FieldSelector, SelectorError> {
        FieldSelector::parse(text)
    }
}

/// Splits on commas not escaped by a backslash, keeping escapes in the terms.
fn split_field_terms(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(text.get(start..index).unwrap_or_default());
            start = index + 1;
        }
    }
    terms.push(text.get(start..).unwrap_or_default());
    terms
}

/// Splits a term at the first operator; `==` is tried before `=` so it leaves no `=` in
/// the value.
fn split_field_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    const OPERATORS: [(&str, FieldOperator); 3] = [
        ("!=", FieldOperator::NotEquals),
        ("==", FieldOperator::Equals),
        ("=", FieldOperator::Equals),
    ];
    for (index, _) in term.char_indices() {
        let remaining = term.get(index..).unwrap_or_default();
        for (spelling, operator) in OPERATORS {
            if let Some(value) = remaining.strip_prefix(spelling) {
                return Some((term.get(..index).unwrap_or_default(), operator, value));
            }
        }
    }
    None
}

fn escape_field_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Undoes `escape_field_value`, refusing bare `,` or `=` and unknown escapes as
/// `fields.UnescapeValue` does.
fn unescape_field_value(raw: &str) -> Result<String, SelectorError> {
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::new(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                )));
            }
            value.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            // Go prints the rune with %v, which is its code point number.
            ',' | '=' => {
                return Err(SelectorError::new(format!(
                    "invalid field selector: unescaped character in value: {}",
                    u32::from(c)
                )))
            }
            _ => value.push(c),
        }
    }
    if escaped {
        return Err(SelectorError::new(
            "invalid field selector: invalid escape sequence: \\",
        ));
    }
    Ok(value)
}

/// Checks a label key (a qualified name: optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 characters); the error joins apimachinery's messages with "; ".
pub fn validate_label_key(key: &str) -> Result<(), String> {
    join_errors(qualified_name_errors(key))
}

/// Checks a label value (at most 63 characters, possibly empty).
pub fn validate_label_value(value: &str) -> Result<(), String> {
    join_errors(label_value_errors(value))
}

/// Checks an RFC 1123 subdomain (most object names), at most 253 characters.
pub fn validate_dns1123_subdomain(name: &str) -> Result<(), String> {
    join_errors(dns1123_subdomain_errors(name))
}

/// Checks an RFC 1123 label (namespaces, among others), at most 63 characters.
pub fn validate_dns1123_label(name: &str) -> Result<(), String> {
    join_errors(dns1123_label_errors(name))
}

/// Checks an RFC 1035 label (Service names), at most 63 characters.
pub fn validate_dns1035_label(name: &str) -> Result<(), String> {
    join_errors(dns1035_label_errors(name))
}

fn join_errors(errors: Vec<String>) -> Result<(), String> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// `validation.IsQualifiedName`: one message per problem, for callers that report each
/// as its own field error.
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_string());
            } else {
                for message in dns1123_subdomain_errors(prefix) {
                    errors.push(format!("prefix part {message}"));
                }
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' \
                 (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            )]
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_CHARS_MAX {
        errors.push(format!(
            "name part {}",
            max_len_error(QUALIFIED_NAME_CHARS_MAX)
        ));
    }
    if !is_qualified_name_part(name) {
        errors.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errors
}

/// `validation.IsValidLabelValue`.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_CHARS_MAX {
        errors.push(max_len_error(LABEL_VALUE_CHARS_MAX));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errors.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

/// `validation.IsDNS1123Subdomain`.
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_CHARS_MAX {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_CHARS_MAX));
    }
    if !is_dns1123_subdomain(value) {
        errors.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errors
}

/// `validation.IsDNS1123Label`.
pub fn dns1123_label_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_LABEL_CHARS_MAX {
        errors.push(max_len_error(DNS1123_LABEL_CHARS_MAX));
    }
    if !is_dns1123_label(value) {
        if is_dns1123_subdomain(value) {
            // A valid subdomain but not a label: the length is checked, so it has dots.
            errors.push("must not contain dots".to_string());
        } else {
            errors.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errors
}

/// `validation.IsDNS1035Label`.
pub fn dns1035_label_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1035_LABEL_CHARS_MAX {
        errors.push(max_len_error(DNS1035_LABEL_CHARS_MAX));
    }
    if !is_dns1035_label(value) {
        errors.push(regex_error(
            DNS1035_LABEL_ERR_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errors
}

fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// `validation.RegexError`, double spaces after the examples' commas included.
fn regex_error(message: &str, regex: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{message} (regex used for validation is '{regex}')");
    }
    let examples: Vec<String> = examples
        .iter()
        .map(|example| format!("'{example}', "))
        .collect();
    format!(
        "{message} (e.g. {}regex used for validation is '{regex}')",
        examples.join(" or ")
    )
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, whole string.
fn is_qualified_name_part(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn is_lower_alphanumeric(byte: &u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, whole string.
fn is_dns1123_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            is_lower_alphanumeric(first)
                && is_lower_alphanumeric(last)
                && bytes.iter().all(|b| is_lower_alphanumeric(b) || *b == b'-')
        }
        _ => false,
    }
}

/// Dot-separated RFC 1123 labels, whole string.
fn is_dns1123_subdomain(value: &str) -> bool {
    value.split('.').all(is_dns1123_label)
}

/// `[a-z]([-a-z0-9]*[a-z0-9])?`, whole string.
fn is_dns1035_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_lowercase) && is_dns1123_label(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(text: &str) -> LabelSelector {
        LabelSelector::parse(text).unwrap_or_else(|error| panic!("{text:?}: {error}"))
    }

    fn parse_error(text: &str) -> String {
        match LabelSelector::parse(text) {
            Ok(selector) => panic!("{text:?} parsed as {selector}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn parses_every_operator() {
        let selector = parse("a=b,c!=d,e in (x,y),f notin (z),g,!h, k==v,n>5,m<7");
        let printed = "a=b,c!=d,e in (x,y),f notin (z),g,!h,k=v,m<7,n>5";
        assert_eq!(selector.to_string(), printed);
        let operators: Vec<Operator> = selector
            .requirements()
            .iter()
            .map(Requirement::operator)
            .collect();
        assert_eq!(
            operators,
            [
                Operator::Equals,
                Operator::NotEquals,
                Operator::In,
                Operator::NotIn,
                Operator::Exists,
                Operator::DoesNotExist,
                Operator::Equals,
                Operator::Lt,
                Operator::Gt,
            ]
        );
    }

    #[test]
    fn tolerates_whitespace_and_sorts_by_key() {
        let selector = parse("  z = 1 ,\ta\tin\t( y , x ) ,\n!b\r\n");
        assert_eq!(selector.to_string(), "a in (x,y),!b,z=1");
        assert_eq!(parse("x=a,x!=b,a").to_string(), "a,x=a,x!=b");
    }

    #[test]
    fn empty_text_selects_everything() {
        for text in ["", "   ", "\t\n"] {
            let selector = parse(text);
            assert!(selector.is_empty());
            assert!(selector.matches(&labels(&[])));
            assert!(selector.matches(&labels(&[("a", "b")])));
            assert_eq!(selector.to_string(), "");
        }
    }

    #[test]
    fn parses_empty_values_as_upstream() {
        assert_eq!(parse("a=").requirements()[0].values().len(), 1);
        assert_eq!(parse("a=").to_string(), "a=");
        assert_eq!(parse("a!=,b").to_string(), "a!=,b");
        assert_eq!(parse("a in ()").to_string(), "a in ()");
        assert_eq!(parse("a in (,)").to_string(), "a in ()");
        assert_eq!(parse("a in (,x)").to_string(), "a in (,x)");
        assert_eq!(parse("a in (x,)").to_string(), "a in (,x)");
        assert_eq!(parse("a in (x,,y)").to_string(), "a in (,x,y)");
        assert_eq!(parse("a in (y,x,y)").to_string(), "a in (x,y)");
    }

    #[test]
    fn keywords_are_identifiers_where_values_go() {
        assert_eq!(parse("in in (notin)").to_string(), "in in (notin)");
        assert_eq!(parse("notin=in").to_string(), "notin=in");
        assert_eq!(parse("!in").to_string(), "!in");
    }

    #[test]
    fn accepts_qualified_keys() {
        let selector = parse("app.kubernetes.io/name=web,example.com/a-b_c.d=1");
        assert_eq!(
            selector.to_string(),
            "app.kubernetes.io/name=web,example.com/a-b_c.d=1"
        );
    }

    #[test]
    fn reports_syntax_errors_as_upstream() {
        assert_eq!(
            parse_error("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(
            parse_error("a=b c"),
            "found 'c', expected: ',' or 'end of string'"
        );
        assert_eq!(
            parse_error("a=b,"),
            "found '', expected: identifier after ','"
        );
        assert_eq!(
            parse_error("a=b,,c"),
            "found ',', expected: identifier after ','"
        );
        assert_eq!(
            parse_error("=a"),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            parse_error("a in x"),
            "unable to parse requirement: found 'x' expected: '('"
        );
        assert_eq!(
            parse_error("a in (x"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            parse_error("a in (x y)"),
            "unable to parse requirement: found 'y', expected: ',' or ')'"
        );
        assert_eq!(
            parse_error("a in (=)"),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier"
        );
        assert_eq!(
            parse_error("a (x)"),
            "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(
            parse_error("a=(x)"),
            "unable to parse requirement: found '(', expected: identifier"
        );
        assert_eq!(
            parse_error("!a=b"),
            "found '=', expected: ',' or 'end of string'"
        );
        assert_eq!(
            parse_error("!=a"),
            "found '!=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            parse_error("!!a"),
            "unable to parse requirement: found '!', expected: identifier"
        );
        assert_eq!(
            parse_error("a=b=c"),
            "found '=', expected: ',' or 'end of string'"
        );
    }

    #[test]
    fn reports_key_and_value_errors_as_upstream() {
        assert_eq!(
            parse_error("-a=b"),
            "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must \
             consist of alphanumeric characters, '-', '_' or '.', and must start and end \
             with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', \
             regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            parse_error("a=-b"),
            "unable to parse requirement: values[0][a]: Invalid value: \"-b\": a valid \
             label must be an empty string or consist of alphanumeric characters, '-', '_' \
             or '.', and must start and end with an alphanumeric character (e.g. \
             'MyValue',  or 'my_value',  or '12345', regex used for validation is \
             '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert_eq!(
            parse_error("a>b"),
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' \
             operators, the value must be an integer"
        );
        assert!(parse_error("a<").contains("the value must be an integer"));
        assert!(parse_error(&format!("a={}", "v".repeat(64)))
            .contains("must be no more than 63 characters"));
    }

    #[test]
    fn bounds_selector_length() {
        let long = format!("a in ({})", "x,".repeat(SELECTOR_CHARS_MAX));
        assert!(parse_error(&long).contains("more than the 16384 allowed"));
        let field = FieldSelector::parse(&"a".repeat(SELECTOR_CHARS_MAX + 1));
        assert!(field.is_err_and(|e| e.message().contains("16384")));
    }

    #[test]
    fn matches_like_kubernetes() {
        let pod = labels(&[("app", "web"), ("tier", "front"), ("replicas", "3")]);
        let cases = [
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("app!=web", false),
            ("missing!=x", true),
            ("missing=x", false),
            ("app in (db,web)", true),
            ("app notin (db,web)", false),
            ("missing notin (x)", true),
            ("missing in (x)", false),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("replicas>2", true),
            ("replicas>3", false),
            ("replicas<4", true),
            ("app>1", false),
            ("missing<1", false),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("", true),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).matches(&pod), expected, "{text}");
        }
        assert!(parse("a=").matches(&labels(&[("a", "")])));
        assert!(!parse("a=").matches(&labels(&[])));
        assert!(parse("a in ()").matches(&labels(&[("a", "")])));
    }

    #[test]
    fn everything_and_nothing() {
        let any = labels(&[("a", "b")]);
        assert!(LabelSelector::everything().matches(&any));
        assert!(LabelSelector::everything().is_empty());
        assert!(!LabelSelector::nothing().matches(&any));
        assert!(!LabelSelector::nothing().matches(&labels(&[])));
        assert!(!LabelSelector::nothing().is_empty());
        assert!(LabelSelector::nothing().selects_nothing());
        assert_eq!(LabelSelector::nothing().to_string(), "");
        assert_eq!(
            LabelSelector::from_optional_api(None),
            Ok(LabelSelector::nothing())
        );
        let empty = meta::LabelSelector::default();
        assert_eq!(
            LabelSelector::from_optional_api(Some(&empty)),
            Ok(LabelSelector::everything())
        );
        let empty_lists = meta::LabelSelector {
            match_labels: Some(BTreeMap::new()),
            match_expressions: Some(Vec::new()),
        };
        assert!(LabelSelector::from_api(&empty_lists).is_ok_and(|s| s.is_empty()));
    }

    fn expression(key: &str, operator: &str, values: Option<&[&str]>) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.to_string(),
            operator: operator.to_string(),
            values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn api_selector(
        match_labels: &[(&str, &str)],
        expressions: Vec<LabelSelectorRequirement>,
    ) -> meta::LabelSelector {
        meta::LabelSelector {
            match_labels: Some(labels(match_labels)),
            match_expressions: Some(expressions),
        }
    }

    #[test]
    fn converts_api_selectors() {
        let selector = api_selector(
            &[("tier", "front"), ("app", "web")],
            vec![
                expression("env", "In", Some(&["prod", "staging"])),
                expression("track", "NotIn", Some(&["canary"])),
                expression("owner", "Exists", None),
                expression("legacy", "DoesNotExist", Some(&[])),
            ],
        );
        let converted = LabelSelector::from_api(&selector);
        assert_eq!(
            converted.as_ref().map(ToString::to_string),
            Ok(
                "app=web,env in (prod,staging),!legacy,owner,tier=front,track notin (canary)"
                    .to_string()
            )
        );
        let pod = labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("env", "prod"),
            ("owner", "x"),
        ]);
        assert!(converted.is_ok_and(|s| s.matches(&pod)));
        let from_map = LabelSelector::from_match_labels(&labels(&[("app", "web")]));
        assert_eq!(from_map, Ok(parse("app=web")));
    }

    fn api_error(expressions: Vec<LabelSelectorRequirement>) -> String {
        match LabelSelector::from_api(&api_selector(&[], expressions)) {
            Ok(selector) => panic!("accepted as {selector}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn reports_api_selector_errors_as_upstream() {
        assert_eq!(
            api_error(vec![expression("a", "In", None)]),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set \
             can't be empty"
        );
        assert_eq!(
            api_error(vec![expression("a", "NotIn", Some(&[]))]),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set \
             can't be empty"
        );
        assert_eq!(
            api_error(vec![expression("a", "Exists", Some(&["x"]))]),
            "values: Invalid value: []string{\"x\"}: values set must be empty for exists and \
             does not exist"
        );
        assert_eq!(
            api_error(vec![expression("a", "DoesNotExist", Some(&["x", "y"]))]),
            "values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for \
             exists and does not exist"
        );
        assert_eq!(
            api_error(vec![expression("a", "Gt", Some(&["1"]))]),
            "\"Gt\" is not a valid label selector operator"
        );
        assert_eq!(
            api_error(vec![expression("a", "in", Some(&["1"]))]),
            "\"in\" is not a valid label selector operator"
        );
        let both = api_error(vec![expression("-a", "Exists", Some(&["-x"]))]);
        assert!(both.starts_with("[key: Invalid value: \"-a\": name part must"));
        assert!(both.contains(", values: Invalid value: []string{\"-x\"}: values set must"));
        assert!(both.contains(", values[0][-a]: Invalid value: \"-x\": a valid label"));
        assert!(both.ends_with(']'));
        let bad_label = LabelSelector::from_api(&api_selector(&[("a", "b c")], vec![]));
        assert!(bad_label.is_err_and(|e| e.message().starts_with("values[0][a]: Invalid")));
    }

    #[test]
    fn builds_requirements_directly() {
        let built = Requirement::new("a", Operator::In, vec!["y".into(), "x".into()]);
        assert_eq!(built.map(|r| r.to_string()), Ok("a in (x,y)".to_string()));
        let empty = Requirement::new("a", Operator::In, vec![]);
        assert_eq!(
            empty.map_err(|e| e.to_string()),
            Err(
                "values: Invalid value: []string{}: for 'in', 'notin' operators, values \
                 set can't be empty"
                    .to_string()
            )
        );
        let two = Requirement::new("a", Operator::Equals, vec!["x".into(), "y".into()]);
        assert!(two.is_err_and(|e| e
            .message()
            .contains("exact-match compatibility requires one single value")));
        let gt = Requirement::new("a", Operator::Gt, vec![]);
        assert!(gt.is_err_and(|e| e.message().contains("exactly one value is required")));
        let selector = LabelSelector::new(vec![
            Requirement::new("b", Operator::Exists, vec![]).unwrap_or_else(|e| panic!("{e}")),
            Requirement::new("a", Operator::Lt, vec!["10".into()])
                .unwrap_or_else(|e| panic!("{e}")),
        ]);
        assert_eq!(selector.to_string(), "a<10,b");
    }

    #[test]
    fn parses_field_selectors() {
        let selector = FieldSelector::parse(
            "metadata.name=x,metadata.namespace!=y,spec.nodeName=,status.phase==Running",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let terms: Vec<(&str, FieldOperator, &str)> = selector
            .requirements()
            .iter()
            .map(|r| (r.field(), r.operator(), r.value()))
            .collect();
        assert_eq!(
            terms,
            [
                ("metadata.name", FieldOperator::Equals, "x"),
                ("metadata.namespace", FieldOperator::NotEquals, "y"),
                ("spec.nodeName", FieldOperator::Equals, ""),
                ("status.phase", FieldOperator::Equals, "Running"),
            ]
        );
        assert_eq!(
            selector.to_string(),
            "metadata.name=x,metadata.namespace!=y,spec.nodeName=,status.phase=Running"
        );
        assert!(FieldSelector::parse("").is_ok_and(|s| s.is_empty()));
        assert!(FieldSelector::parse(",,").is_ok_and(|s| s.is_empty()));
        assert_eq!(FieldSelector::everything().to_string(), "");
    }

    #[test]
    fn field_values_escape_commas_equals_and_backslashes() {
        let selector =
            FieldSelector::parse(r"a=x\,y\=z\\w,b!=\\").unwrap_or_else(|e| panic!("{e}"));
        let values: Vec<&str> = selector
            .requirements()
            .iter()
            .map(FieldRequirement::value)
            .collect();
        assert_eq!(values, [r"x,y=z\w", r"\"]);
        assert_eq!(selector.to_string(), r"a=x\,y\=z\\w,b!=\\");
    }

    #[test]
    fn refuses_bad_field_selectors_as_upstream() {
        let error = |text: &str| FieldSelector::parse(text).map_err(|e| e.to_string());
        assert_eq!(
            error("a in (x)"),
            Err("invalid selector: 'a in (x)'; can't understand 'a in (x)'".to_string())
        );
        assert_eq!(
            error("a=b,c>d"),
            Err("invalid selector: 'a=b,c>d'; can't understand 'c>d'".to_string())
        );
        assert_eq!(
            error("a=b=c"),
            Err("invalid field selector: unescaped character in value: 61".to_string())
        );
        assert_eq!(
            error(r"a=b\x"),
            Err(r"invalid field selector: invalid escape sequence: \x".to_string())
        );
        assert_eq!(
            error(r"a=b\"),
            Err(r"invalid field selector: invalid escape sequence: \".to_string())
        );
        assert!(error("!a").is_err());
    }

    #[test]
    fn matches_fields_with_missing_as_empty() {
        let pod = |field: &str| match field {
            "metadata.name" => Some("web-1".to_string()),
            "status.phase" => Some("Running".to_string()),
            _ => None,
        };
        let matches = |text: &str| {
            FieldSelector::parse(text)
                .unwrap_or_else(|e| panic!("{e}"))
                .matches(&pod)
        };
        assert!(matches("metadata.name=web-1"));
        assert!(matches("metadata.name==web-1,status.phase!=Pending"));
        assert!(!matches("metadata.name=web-2"));
        assert!(matches("spec.nodeName="));
        assert!(!matches("spec.nodeName!="));
        assert!(matches(""));
    }

    #[test]
    fn validates_label_keys_and_values_with_upstream_messages() {
        assert_eq!(validate_label_key("app"), Ok(()));
        assert_eq!(validate_label_key("app.kubernetes.io/name"), Ok(()));
        assert_eq!(validate_label_key(&"a".repeat(63)), Ok(()));
        assert_eq!(
            validate_label_key("a_b/c"),
            Err(
                "prefix part a lowercase RFC 1123 subdomain must consist of lower case \
                 alphanumeric characters, '-' or '.', and must start and end with an \
                 alphanumeric character (e.g. 'example.com', regex used for validation is \
                 '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                    .to_string()
            )
        );
        let empty_name = validate_label_key("example.com/").unwrap_err();
        assert!(empty_name.starts_with("name part must be non-empty; name part must consist"));
        assert!(
            validate_label_key("/a").is_err_and(|e| e.starts_with("prefix part must be non-empty"))
        );
        assert!(validate_label_key(&"a".repeat(64))
            .is_err_and(|e| e == "name part must be no more than 63 characters"));
        assert!(validate_label_key("a/b/c").is_err_and(|e| e
            .starts_with("a qualified name must consist of")
            && e.ends_with(
                "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )));
        assert_eq!(validate_label_value(""), Ok(()));
        assert_eq!(validate_label_value("My_value.1"), Ok(()));
        assert!(validate_label_value("a b").is_err());
        assert!(validate_label_value(&"v".repeat(64))
            .is_err_and(|e| e == "must be no more than 63 characters"));
    }

    #[test]
    fn validates_dns_names_with_upstream_messages() {
        assert_eq!(validate_dns1123_subdomain("web.example.com"), Ok(()));
        assert!(validate_dns1123_subdomain("Web").is_err());
        assert!(validate_dns1123_subdomain("a..b").is_err());
        assert!(validate_dns1123_subdomain("").is_err());
        assert!(validate_dns1123_subdomain(&"a".repeat(254))
            .is_err_and(|e| e == "must be no more than 253 characters"));
        assert_eq!(validate_dns1123_subdomain(&"a".repeat(253)), Ok(()));
        assert_eq!(validate_dns1123_label("0-web"), Ok(()));
        assert_eq!(
            validate_dns1123_label("a.b"),
            Err("must not contain dots".to_string())
        );
        assert_eq!(
            validate_dns1123_label("-a"),
            Err(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric \
                 characters or '-', and must start and end with an alphanumeric character \
                 (e.g. 'my-name',  or '123-abc', regex used for validation is \
                 '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                    .to_string()
            )
        );
        assert_eq!(validate_dns1035_label("web-1"), Ok(()));
        assert_eq!(
            validate_dns1035_label("1web"),
            Err(
                "a DNS-1035 label must consist of lower case alphanumeric characters or \
                 '-', start with an alphabetic character, and end with an alphanumeric \
                 character (e.g. 'my-name',  or 'abc-123', regex used for validation is \
                 '[a-z]([-a-z0-9]*[a-z0-9])?')"
                    .to_string()
            )
        );
        assert!(validate_dns1035_label(&"a".repeat(64))
            .is_err_and(|e| e == "must be no more than 63 characters"));
    }

    fn label_key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]([-a-z0-9_.]{0,8}[a-z0-9])?",
            "[a-z]{1,5}(\\.[a-z]{1,5}){0,2}/[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?",
            Just("in".to_string()),
            Just("notin".to_string()),
        ]
    }

    fn label_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?",
            Just("in".to_string()),
        ]
    }

    fn requirement() -> impl Strategy<Value = Requirement> {
        let values = proptest::collection::vec(label_value(), 1..4);
        (label_key(), 0..8u8, values, -20i64..20).prop_map(|(key, op, values, n)| {
            let (operator, values) = match op {
                0 => (Operator::Equals, values[..1].to_vec()),
                1 => (Operator::NotEquals, values[..1].to_vec()),
                2 => (Operator::In, values),
                3 => (Operator::NotIn, values),
                4 => (Operator::Exists, vec![]),
                5 => (Operator::DoesNotExist, vec![]),
                6 => (Operator::Gt, vec![n.unsigned_abs().to_string()]),
                _ => (Operator::Lt, vec![n.unsigned_abs().to_string()]),
            };
            Requirement::new(key, operator, values).unwrap_or_else(|e| panic!("{e}"))
        })
    }

    fn label_set() -> impl Strategy<Value = BTreeMap<String, String>> {
        proptest::collection::btree_map(
            prop_oneof![label_key(), Just("a".to_string())],
            prop_oneof![label_value(), "[0-9]{1,2}"],
            0..6,
        )
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = LabelSelector::parse(&text);
            let _ = FieldSelector::parse(&text);
            let _ = validate_label_key(&text);
            let _ = validate_label_value(&text);
            let _ = validate_dns1123_subdomain(&text);
            let _ = validate_dns1123_label(&text);
            let _ = validate_dns1035_label(&text);
        }

        #[test]
        fn selector_alphabet_parses_back_when_accepted(text in "[a-c0-9 =!(),<>.-_/\\\\]{0,40}") {
            if let Ok(selector) = LabelSelector::parse(&text) {
                let printed = selector.to_string();
                prop_assert_eq!(LabelSelector::parse(&printed), Ok(selector));
            }
            if let Ok(selector) = FieldSelector::parse(&text) {
                let printed = selector.to_string();
                prop_assert_eq!(FieldSelector::parse(&printed), Ok(selector));
            }
        }

        #[test]
        fn printed_selectors_parse_back(
            requirements in proptest::collection::vec(requirement(), 0..6)
        ) {
            let selector = LabelSelector::new(requirements);
            let printed = selector.to_string();
            let parsed = LabelSelector::parse(&printed);
            prop_assert_eq!(parsed.as_ref(), Ok(&selector), "{}", printed);
            prop_assert_eq!(parsed.map(|s| s.to_string()), Ok(printed));
        }

        #[test]
        fn matching_is_the_conjunction_of_requirements(
            requirements in proptest::collection::vec(requirement(), 0..4),
            labels in label_set(),
        ) {
            let expected = requirements.iter().all(|r| r.matches(&labels));
            let selector = LabelSelector::new(requirements);
            prop_assert_eq!(selector.matches(&labels), expected);
            prop_assert!(!LabelSelector::nothing().matches(&labels));
        }

        #[test]
        fn equality_requirements_match_their_definition(
            key in label_key(), value in label_value(), labels in label_set()
        ) {
            let equals = LabelSelector::parse(&format!("{key}={value}"));
            let expected = labels.get(&key) == Some(&value);
            prop_assert_eq!(equals.map(|s| s.matches(&labels)), Ok(expected));
            let not_equals = LabelSelector::parse(&format!("{key}!={value}"));
            prop_assert_eq!(not_equals.map(|s| s.matches(&labels)), Ok(!expected));
        }

        #[test]
        fn field_selectors_parse_back(
            terms in proptest::collection::vec(
                ("[a-z.]{0,12}", any::<bool>(), any::<String>()),
                0..5,
            )
        ) {
            let text: Vec<String> = terms
                .iter()
                .map(|(field, equals, value)| {
                    let operator = if *equals { "==" } else { "!=" };
                    format!("{field}{operator}{}", escape_field_value(value))
                })
                .collect();
            let text = text.join(",");
            let parsed = FieldSelector::parse(&text);
            let mut expected: Vec<(String, FieldOperator, String)> = terms
                .iter()
                .map(|(field, equals, value)| {
                    let operator = if *equals { FieldOperator::Equals } else { FieldOperator::NotEquals };
                    (field.clone(), operator, value.clone())
                })
                .collect();
            expected.sort();
            let got = parsed.as_ref().map(|s| {
                s.requirements()
                    .iter()
                    .map(|r| (r.field().to_string(), r.operator(), r.value().to_string()))
                    .collect::<Vec<_>>()
            });
            prop_assert_eq!(got, Ok(expected));
            let reparsed = parsed.as_ref().map(|s| FieldSelector::parse(&s.to_string()));
            prop_assert_eq!(reparsed, Ok(parsed.clone()));
        }

        #[test]
        fn label_value_validation_matches_its_grammar(value in "[-A-Za-z0-9_. /]{0,70}") {
            let bytes = value.as_bytes();
            let grammar = value.is_empty()
                || (value.len() <= LABEL_VALUE_CHARS_MAX
                    && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
                    && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
                    && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b)));
            prop_assert_eq!(validate_label_value(&value).is_ok(), grammar);
        }
    }
}
