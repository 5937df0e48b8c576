//! Printer of Event (core/v1 and events.k8s.io/v1).

use serde_json::Value;

use super::cells::{
    int_cell, integer, name, nested, optional_integer, or_placeholder, since, text, text_cell,
    time_value,
};
use super::columns::{column, wide, Column, NAME_DOC, NAME_FORMAT, STRING};

// ---------------------------------------------------------------------------------------
// Events.

pub(super) const EVENT_COLUMNS: &[Column] = &[
    column("Last Seen", STRING, "The time at which the most recent occurrence of this event was recorded."),
    column("Type", STRING, "Type of this event (Normal, Warning), new types could be added in the future"),
    column("Reason", STRING, "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    column("Object", STRING, "The object that this event is about."),
    wide("Subobject", STRING, "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]."),
    wide("Source", STRING, "The component reporting this event. Should be a short machine understandable string."),
    column("Message", STRING, "A human-readable description of the status of this operation."),
    wide("First Seen", STRING, "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"),
    wide("Count", STRING, "The number of times this event has occurred."),
    Column {
        format: NAME_FORMAT,
        ..wide("Name", STRING, NAME_DOC)
    },
];

/// `events.k8s.io` events name some fields differently from core/v1 ones.
const EVENTS_GROUP_PREFIX: &str = "events.k8s.io/";

pub(super) fn event_cells(event: &Value, now: i64) -> Vec<Value> {
    let field = |core: &str, events: &str| -> &Value {
        if text(event, &["apiVersion"]).starts_with(EVENTS_GROUP_PREFIX) {
            &event[events]
        } else {
            &event[core]
        }
    };
    let first_seen = match time_value(field("firstTimestamp", "deprecatedFirstTimestamp")) {
        Some(first) => since(Some(first), now),
        None => since(time_value(&event["eventTime"]), now),
    };
    let mut last_seen = match time_value(field("lastTimestamp", "deprecatedLastTimestamp")) {
        Some(last) => since(Some(last), now),
        None => first_seen.clone(),
    };
    let mut count = optional_integer(field("count", "deprecatedCount"), &[]).unwrap_or(0);
    if let Some(series) = nested(event, &["series"]) {
        last_seen = since(time_value(&series["lastObservedTime"]), now);
        count = integer(series, &["count"]);
    } else if count == 0 {
        // Events of the new API happen once unless they carry a series.
        count = 1;
    }
    let regarding = field("involvedObject", "regarding");
    vec![
        text_cell(last_seen),
        text_cell(text(event, &["type"])),
        text_cell(text(event, &["reason"])),
        text_cell(event_target(regarding)),
        text_cell(text(regarding, &["fieldPath"])),
        text_cell(event_source(event, field("source", "deprecatedSource"))),
        text_cell(field("message", "note").as_str().unwrap_or("").trim()),
        text_cell(first_seen),
        int_cell(count),
        text_cell(name(event)),
    ]
}

/// "kind/name" of the object an event is about, the kind lower-cased.
fn event_target(regarding: &Value) -> String {
    let kind = text(regarding, &["kind"]).to_lowercase();
    match text(regarding, &["name"]) {
        "" => kind,
        target => format!("{kind}/{target}"),
    }
}

/// `formatEventSource`: "component, host", falling back to the reporting controller and
/// instance.
fn event_source(event: &Value, source: &Value) -> String {
    let component = or_placeholder(
        text(source, &["component"]),
        or_placeholder(
            text(event, &["reportingComponent"]),
            text(event, &["reportingController"]),
        ),
    );
    let host = or_placeholder(text(source, &["host"]), text(event, &["reportingInstance"]));
    if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    }
}
