//! Printers of batch/v1: Job and CronJob.

use serde_json::Value;

use super::cells::{
    age, at, bool_pointer_text, condition_is_true, container_cells, format_label_selector,
    int_cell, integer, is_deleting, items, name, optional_integer, since, text, text_cell,
    time_value, NONE,
};
use super::columns::{
    column, Column, AGE_COLUMN, BOOLEAN, CONTAINERS_COLUMN, IMAGES_COLUMN, INTEGER, NAME_COLUMN,
    SELECTOR_COLUMN, STRING,
};
use super::duration::{human_duration_signed, parse_rfc3339_ms, ZERO_TIME_MS};

pub(super) const JOB_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Status", STRING, "Status of the job."),
    column(
        "Completions",
        STRING,
        "The number of pods which reached phase Succeeded.",
    ),
    column("Duration", STRING, "Time required to complete the job."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

pub(super) const CRON_JOB_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Schedule", STRING, "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    column("Timezone", STRING, "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
    column("Suspend", BOOLEAN, "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions. Defaults to false."),
    column("Active", INTEGER, "A list of pointers to currently running jobs."),
    column("Last Schedule", STRING, "Information when was the last time the job was successfully scheduled."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

pub(super) fn job_cells(job: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(job, &["spec", "template", "spec"]));
    vec![
        text_cell(name(job)),
        text_cell(job_status(job)),
        text_cell(job_completions(job)),
        text_cell(job_duration(job, now)),
        age(job, now),
        names,
        images,
        text_cell(format_label_selector(at(job, &["spec", "selector"]))),
    ]
}

/// The first of these that holds, in kube 1.33's order.
fn job_status(job: &Value) -> &'static str {
    let conditions = items(job, &["status", "conditions"]);
    if condition_is_true(conditions, "Complete") {
        "Complete"
    } else if condition_is_true(conditions, "Failed") {
        "Failed"
    } else if is_deleting(job) {
        "Terminating"
    } else if condition_is_true(conditions, "Suspended") {
        "Suspended"
    } else if condition_is_true(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// "succeeded/completions", or for a work queue "succeeded/1 of parallelism".
fn job_completions(job: &Value) -> String {
    let succeeded = integer(job, &["status", "succeeded"]);
    if let Some(completions) = optional_integer(job, &["spec", "completions"]) {
        return format!("{succeeded}/{completions}");
    }
    let parallelism = integer(job, &["spec", "parallelism"]);
    if parallelism > 1 {
        format!("{succeeded}/1 of {parallelism}")
    } else {
        format!("{succeeded}/1")
    }
}

/// Start to completion, or start to now while running; "" before the job starts.
fn job_duration(job: &Value, now: i64) -> String {
    let Some(started) = at(job, &["status", "startTime"]).as_str() else {
        return String::new();
    };
    let started = parse_rfc3339_ms(started).unwrap_or(ZERO_TIME_MS);
    let ended = match at(job, &["status", "completionTime"]).as_str() {
        Some(completed) => parse_rfc3339_ms(completed).unwrap_or(ZERO_TIME_MS),
        None => now,
    };
    human_duration_signed(ended.saturating_sub(started))
}

pub(super) fn cron_job_cells(cron_job: &Value, now: i64) -> Vec<Value> {
    let job_spec = at(cron_job, &["spec", "jobTemplate", "spec"]);
    let [names, images] = container_cells(at(job_spec, &["template", "spec"]));
    let last_schedule = match at(cron_job, &["status", "lastScheduleTime"]) {
        Value::Null => NONE.to_string(),
        scheduled => since(time_value(scheduled), now),
    };
    let time_zone = at(cron_job, &["spec", "timeZone"]).as_str().unwrap_or(NONE);
    vec![
        text_cell(name(cron_job)),
        text_cell(text(cron_job, &["spec", "schedule"])),
        text_cell(time_zone),
        text_cell(bool_pointer_text(at(cron_job, &["spec", "suspend"]))),
        int_cell(items(cron_job, &["status", "active"]).len() as i64),
        text_cell(last_schedule),
        age(cron_job, now),
        names,
        images,
        text_cell(format_label_selector(&job_spec["selector"])),
    ]
}
