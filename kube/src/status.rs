//! Kubernetes `Status` objects: every error the gateway returns is one, with the reason
//! and code kube-apiserver uses, so clients (kubectl, client-go, kube-rs) recognise them.

use serde::{Deserialize, Serialize};

/// Why one field of an object is invalid: Kubernetes' `StatusCause`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueDuplicate`,
    /// `FieldValueNotSupported`, `FieldValueForbidden`, `FieldValueTooLong`,
    /// `FieldValueTooMany`: the `field.ErrorType` names of apimachinery.
    pub reason: String,
    pub message: String,
    /// The field's JSON path, as apimachinery prints it: `spec.containers[0].name`.
    pub field: String,
}

impl Cause {
    fn new(reason: &str, field: &str, message: String) -> Cause {
        Cause {
            reason: reason.into(),
            message,
            field: field.into(),
        }
    }
    pub fn required(field: &str) -> Cause {
        Cause::new("FieldValueRequired", field, "Required value".into())
    }
    /// `value` is shown as apimachinery shows it (strings quoted).
    pub fn invalid(field: &str, value: &str, detail: &str) -> Cause {
        Cause::new(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {value}: {detail}"),
        )
    }
    pub fn duplicate(field: &str, value: &str) -> Cause {
        Cause::new(
            "FieldValueDuplicate",
            field,
            format!("Duplicate value: {value}"),
        )
    }
    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> Cause {
        let quoted: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        Cause::new(
            "FieldValueNotSupported",
            field,
            format!(
                "Unsupported value: {value}: supported values: {}",
                quoted.join(", ")
            ),
        )
    }
    pub fn forbidden(field: &str, detail: &str) -> Cause {
        Cause::new("FieldValueForbidden", field, format!("Forbidden: {detail}"))
    }
    pub fn too_long(field: &str, max: usize) -> Cause {
        Cause::new(
            "FieldValueTooLong",
            field,
            format!("Too long: may not be more than {max} bytes"),
        )
    }
    /// The line kube-apiserver prints for this cause inside an Invalid status message.
    pub fn summary(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}
