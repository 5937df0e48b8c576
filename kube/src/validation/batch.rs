//! batch/v1: Job and CronJob, with robfig/cron's schedule syntax.

use k8s_openapi::api::batch::v1 as batch;
use serde_json::Value;

use crate::status::Cause;

use super::common::{
    child, nonnegative, one_of, quoted, typed, validate_immutable, validate_label_selector,
};
use super::workloads::{validate_pod_template, validate_template_matches};

const JOB_RESTART_POLICIES: &[&str] = &["OnFailure", "Never"];

pub(super) fn validate_job(object: &Value, causes: &mut Vec<Cause>) {
    let Some(job) = typed::<batch::Job>(object, causes) else {
        return;
    };
    let spec = job.spec.unwrap_or_default();
    // Without manualSelector, kube-apiserver generates the selector from the Job's uid
    // while validating, so an absent one is not an error.
    if let Some(selector) = &spec.selector {
        validate_label_selector(selector, "spec.selector", causes);
        validate_template_matches(selector, &spec.template, "spec.template", causes);
    } else if spec.manual_selector == Some(true) {
        causes.push(Cause::required("spec.selector"));
    }
    validate_job_spec(&spec, "spec", causes);
}

fn validate_job_spec(spec: &batch::JobSpec, path: &str, causes: &mut Vec<Cause>) {
    let counters = [
        ("parallelism", spec.parallelism.map(i64::from)),
        ("completions", spec.completions.map(i64::from)),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit.map(i64::from)),
        (
            "ttlSecondsAfterFinished",
            spec.ttl_seconds_after_finished.map(i64::from),
        ),
    ];
    for (field, value) in counters {
        nonnegative(&child(path, field), value, causes);
    }
    let modes = ["NonIndexed", "Indexed"];
    let mode_path = child(path, "completionMode");
    one_of(&mode_path, spec.completion_mode.as_deref(), &modes, causes);
    if spec.completion_mode.as_deref() == Some("Indexed") && spec.completions.is_none() {
        causes.push(Cause {
            message: "Required value: when completion mode is Indexed".into(),
            ..Cause::required(&child(path, "completions"))
        });
    }
    let replacement = spec.pod_replacement_policy.as_deref();
    let replacement_path = child(path, "podReplacementPolicy");
    one_of(
        &replacement_path,
        replacement,
        &["Failed", "TerminatingOrFailed"],
        causes,
    );
    let template_path = child(path, "template");
    validate_pod_template(&spec.template, &template_path, JOB_RESTART_POLICIES, causes);
}

/// `ValidateJobSpecUpdate`: the selector and the pod template are fixed once created.
pub(super) fn validate_job_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    validate_immutable(new, old, &["spec", "selector"], causes);
    validate_immutable(new, old, &["spec", "template"], causes);
    validate_immutable(new, old, &["spec", "completionMode"], causes);
}

pub(super) fn validate_cron_job(object: &Value, causes: &mut Vec<Cause>) {
    let Some(cron_job) = typed::<batch::CronJob>(object, causes) else {
        return;
    };
    let spec = cron_job.spec.unwrap_or_default();
    if spec.schedule.is_empty() {
        causes.push(Cause::required("spec.schedule"));
    } else if spec.schedule.contains("TZ") {
        let detail = if spec.time_zone.is_some() {
            "cannot use both timeZone field and TZ or CRON_TZ in schedule"
        } else {
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
        };
        causes.push(Cause::invalid(
            "spec.schedule",
            &quoted(&spec.schedule),
            detail,
        ));
    } else if let Err(detail) = parse_cron_schedule(&spec.schedule) {
        causes.push(Cause::invalid(
            "spec.schedule",
            &quoted(&spec.schedule),
            &detail,
        ));
    }
    let policies = ["Allow", "Forbid", "Replace"];
    one_of(
        "spec.concurrencyPolicy",
        spec.concurrency_policy.as_deref(),
        &policies,
        causes,
    );
    let counters = [
        (
            "spec.startingDeadlineSeconds",
            spec.starting_deadline_seconds,
        ),
        (
            "spec.successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit.map(i64::from),
        ),
        (
            "spec.failedJobsHistoryLimit",
            spec.failed_jobs_history_limit.map(i64::from),
        ),
    ];
    for (path, value) in counters {
        nonnegative(path, value, causes);
    }
    let job_spec = spec.job_template.spec.unwrap_or_default();
    if job_spec.manual_selector == Some(true) {
        causes.push(Cause::not_supported(
            "spec.jobTemplate.spec.manualSelector",
            "true",
            &["nil", "false"],
        ));
    }
    validate_job_spec(&job_spec, "spec.jobTemplate.spec", causes);
}

/// A cron field's name, bounds, and the names it accepts for its values.
struct CronField {
    name: &'static str,
    minimum: u32,
    maximum: u32,
    names: &'static [&'static str],
}

const CRON_FIELDS: [CronField; 5] = [
    CronField {
        name: "minute",
        minimum: 0,
        maximum: 59,
        names: &[],
    },
    CronField {
        name: "hour",
        minimum: 0,
        maximum: 23,
        names: &[],
    },
    CronField {
        name: "day of month",
        minimum: 1,
        maximum: 31,
        names: &[],
    },
    CronField {
        name: "month",
        minimum: 1,
        maximum: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    CronField {
        name: "day of week",
        minimum: 0,
        maximum: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

/// robfig/cron's `ParseStandard`: five fields or a descriptor, with its error texts.
fn parse_cron_schedule(schedule: &str) -> Result<(), String> {
    let schedule = schedule.trim();
    if let Some(descriptor) = schedule.strip_prefix('@') {
        let known = [
            "yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly",
        ];
        if known.contains(&descriptor) {
            return Ok(());
        }
        if let Some(duration) = descriptor.strip_prefix("every ") {
            return parse_go_duration(duration.trim())
                .ok_or_else(|| format!("failed to parse duration {schedule}"));
        }
        return Err(format!("unrecognized descriptor: {schedule}"));
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != CRON_FIELDS.len() {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (text, field) in fields.iter().zip(CRON_FIELDS.iter()) {
        for part in text.split(',') {
            parse_cron_range(part, field)?;
        }
    }
    Ok(())
}

fn parse_cron_range(part: &str, field: &CronField) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (part, None),
    };
    let (start, end) = if range == "*" || range == "?" {
        (field.minimum, field.maximum)
    } else if let Some((low, high)) = range.split_once('-') {
        (
            parse_cron_value(low, field)?,
            parse_cron_value(high, field)?,
        )
    } else {
        let value = parse_cron_value(range, field)?;
        (value, value)
    };
    if let Some(step) = step {
        let step: u32 = step.parse().map_err(|_| {
            format!(
                "failed to parse int from {step}: strconv.Atoi: parsing {step:?}: invalid syntax"
            )
        })?;
        if step == 0 {
            return Err(format!("step of range should be a positive number: {part}"));
        }
    }
    if start < field.minimum {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {part}",
            field.minimum
        ));
    }
    if end > field.maximum {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {part}",
            field.maximum
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {part}"
        ));
    }
    Ok(())
}

fn parse_cron_value(text: &str, field: &CronField) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(position) = field.names.iter().position(|name| *name == lower) {
        let offset = u32::try_from(position).unwrap_or_default();
        return Ok(field.minimum + offset);
    }
    text.parse::<u32>().map_err(|_| {
        format!(
            "failed to parse int from {text}: strconv.Atoi: parsing {text:?}: invalid syntax (in the {} field)",
            field.name
        )
    })
}

/// Go's `time.ParseDuration` accepts e.g. `1h30m`, `90s`, `1.5h`.
fn parse_go_duration(text: &str) -> Option<()> {
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if number_end == 0 {
            return None;
        }
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        if !["ns", "us", "µs", "ms", "s", "m", "h"].contains(&&rest[..unit_end]) {
            return None;
        }
        rest = &rest[unit_end..];
    }
    Some(())
}
