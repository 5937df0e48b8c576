//! Counterexamples a person can read: store keys and object bodies are `Vec<u8>`, which
//! `Debug` prints as decimal bytes (`[47, 114, 101, 103, ...]`, thousands of characters per
//! step). This rewrites every such byte list in a trace line into text when it is UTF-8
//! (`"/registry/pods/default/web"`), abbreviated past `TEXT_CHARS_MAX`; a long list that is
//! not text keeps its first bytes and says how many there were.

/// Characters of a byte string printed before it is cut short (a JSON body of a pod is
/// about 600; the key and the fields a property speaks of come first).
pub const TEXT_CHARS_MAX: usize = 160;
/// Bytes of a non-text list printed before it is cut short.
pub const BYTES_SHOWN_MAX: usize = 16;
/// Lists shorter than this stay numbers: `[1, 2]` is more likely node ids than text.
const TEXT_BYTES_MIN: usize = 3;

/// `debug` with each list of decimal bytes rewritten as text (or abbreviated).
pub fn readable(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len().min(1 << 16));
    let mut rest = debug;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        match byte_list(after) {
            Some((bytes, consumed)) => {
                out.push_str(&render(&bytes));
                rest = &after[consumed..];
            }
            None => {
                out.push('[');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses `[n, n, ...]` of numbers 0..=255 at the start of `text`: the bytes and the
/// length of the list in `text`.
fn byte_list(text: &str) -> Option<(Vec<u8>, usize)> {
    debug_assert!(text.starts_with('['));
    let close = text.find(']')?;
    let inner = &text[1..close];
    if inner.is_empty() {
        return None;
    }
    let bytes = inner
        .split(", ")
        .map(|n| {
            let digits_only =
                !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit());
            digits_only.then(|| n.parse::<u8>().ok()).flatten()
        })
        .collect::<Option<Vec<u8>>>()?;
    Some((bytes, close + 1))
}

fn render(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).ok().filter(|t| {
        bytes.len() >= TEXT_BYTES_MIN && t.chars().all(|c| !c.is_control() || c == '\n')
    });
    match text {
        Some(text) if text.chars().count() <= TEXT_CHARS_MAX => format!("{text:?}"),
        Some(text) => {
            let head: String = text.chars().take(TEXT_CHARS_MAX).collect();
            format!("{head:?}…({} bytes)", bytes.len())
        }
        None if bytes.len() <= BYTES_SHOWN_MAX => format!("{bytes:?}"),
        None => {
            let head = format!("{:?}", &bytes[..BYTES_SHOWN_MAX]);
            format!("{}, …({} bytes)]", head.trim_end_matches(']'), bytes.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_bodies_print_as_text() {
        let key = b"/registry/pods/default/web".to_vec();
        let line = format!("Put {{ key: {key:?}, lease: 0 }}");
        assert_eq!(
            readable(&line),
            "Put { key: \"/registry/pods/default/web\", lease: 0 }"
        );
    }

    #[test]
    fn long_text_is_cut_and_sized() {
        let body = "x".repeat(TEXT_CHARS_MAX + 40).into_bytes();
        let line = readable(&format!("{body:?}"));
        assert!(line.starts_with('"'), "{line}");
        assert!(
            line.ends_with(&format!("…({} bytes)", body.len())),
            "{line}"
        );
        assert!(line.len() < TEXT_CHARS_MAX + 20, "{line}");
    }

    #[test]
    fn ids_and_binary_stay_numbers() {
        assert_eq!(readable("members: [1, 2, 3]"), "members: [1, 2, 3]");
        assert_eq!(readable("ids: [300, 70, 71]"), "ids: [300, 70, 71]");
        assert_eq!(readable("[]"), "[]");
        let binary: Vec<u8> = (0..40).collect();
        let line = readable(&format!("{binary:?}"));
        assert!(line.ends_with(", …(40 bytes)]"), "{line}");
        assert!(line.starts_with("[0, 1, 2"), "{line}");
    }

    #[test]
    fn nested_lists_are_each_rewritten() {
        let keys = vec![b"abc".to_vec(), b"def".to_vec()];
        assert_eq!(readable(&format!("{keys:?}")), "[\"abc\", \"def\"]");
    }
}
