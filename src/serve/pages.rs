//! The dashboard's HTML. Every value from the store or the audit log goes
//! through `e` (a path or a reason may hold markup); no page carries inline
//! script or style, which the Content-Security-Policy would refuse anyway.

use super::data::{Filter, IncidentDetail, IncidentRow, ProviderTimes};
use crate::bot::clock;
use crate::bot::incident::State;
use crate::bot::run::Summary;
use crate::report::html::{bar_chart, escape as e};
use std::collections::BTreeMap;

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · leakstop</title><link rel=\"stylesheet\" href=\"/static/dashboard.css\"><script src=\"/static/dashboard.js\" defer></script></head><body><header class=\"top\"><a href=\"/\" class=\"brand\">leakstop</a> <span>incidents and emergency revocation</span></header><main>{body}</main></body></html>\n",
        e(title)
    )
}

/// A page with one message (errors, refusals).
pub fn message(title: &str, text: &str, back: Option<&str>) -> String {
    layout(
        title,
        &format!(
            "<h1>{}</h1><p class=\"message\" id=\"message\">{}</p><p><a href=\"{}\">Back</a></p>",
            e(title),
            e(text),
            e(back.unwrap_or("/"))
        ),
    )
}

fn age(seconds: i64) -> String {
    clock::human(seconds.max(0))
}

fn options(name: &str, label: &str, values: &[String], selected: &str) -> String {
    let mut html = format!(
        "<label>{} <select name=\"{name}\" id=\"filter-{name}\" data-autosubmit><option value=\"\">any</option>",
        e(label)
    );
    for value in values {
        html.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            e(value),
            if value == selected { " selected" } else { "" },
            e(value)
        ));
    }
    html.push_str("</select></label>");
    html
}

fn issue_links(row: &IncidentRow) -> String {
    row.issues
        .iter()
        .map(|i| {
            format!(
                "<a href=\"{}\" rel=\"noreferrer noopener\">{}#{}</a>",
                e(&i.url),
                e(&i.repository),
                i.number
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn distinct(rows: &[IncidentRow], key: impl Fn(&IncidentRow) -> Vec<String>) -> Vec<String> {
    let mut values: Vec<String> = rows.iter().flat_map(key).collect();
    values.sort();
    values.dedup();
    values
}

/// The incident list with its filters, the charts and the time-to-revoke table.
pub fn index(
    all: &[IncidentRow],
    rows: &[IncidentRow],
    times: &[ProviderTimes],
    filter: &Filter,
) -> String {
    let mut body = String::from("<h1>Incidents</h1>");
    let overdue = all.iter().filter(|r| r.overdue).count();
    let live = all
        .iter()
        .filter(|r| r.live.as_deref() == Some("live") && r.revocable)
        .count();
    body.push_str(&format!(
        "<p class=\"meta\">{} incident{}; <strong>{live}</strong> with a live key not yet revoked; <strong class=\"{}\">{overdue} overdue</strong>.</p>",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        if overdue > 0 { "overdue-text" } else { "" }
    ));
    let states: Vec<String> = State::ALL.iter().map(|s| s.as_str().to_string()).collect();
    body.push_str("<form method=\"get\" action=\"/\" class=\"filters\" id=\"filters\">");
    body.push_str(&options("state", "State", &states, &filter.state));
    body.push_str(&options(
        "provider",
        "Provider",
        &distinct(all, |r| vec![r.provider.clone()]),
        &filter.provider,
    ));
    body.push_str(&options(
        "repository",
        "Repository",
        &distinct(all, |r| r.repositories.clone()),
        &filter.repository,
    ));
    let ages: Vec<String> = ["1h", "24h", "7d", "30d"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    body.push_str(&options(
        "older_than",
        "Older than",
        &ages,
        &filter.older_than,
    ));
    body.push_str(
        "<button type=\"submit\" id=\"apply\">Filter</button> <a href=\"/\">clear</a></form>",
    );
    body.push_str(&format!(
        "<table class=\"incidents\" id=\"incidents\"><thead><tr><th>#</th><th>State</th><th>Provider</th><th>Kind</th><th>Severity</th><th>Verified</th><th>Repositories</th><th>Locations</th><th>Age</th><th>Issue</th></tr></thead><tbody>{}</tbody></table>",
        rows.iter()
            .map(|r| format!(
                "<tr class=\"incident{}\" data-id=\"{}\"><td><a href=\"/incidents/{}\">{}</a></td><td><span class=\"state state-{}\">{}</span>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                if r.overdue { " overdue" } else { "" },
                r.id,
                r.id,
                r.id,
                e(&r.state),
                e(&r.state),
                if r.overdue { " <span class=\"badge\">overdue</span>" } else { "" },
                e(&r.provider),
                e(&r.kind),
                e(&r.severity),
                e(r.live.as_deref().unwrap_or("-")),
                e(&r.repositories.join(", ")),
                r.locations,
                e(&age(r.age_seconds)),
                issue_links(r),
            ))
            .collect::<String>()
    ));
    if rows.is_empty() {
        body.push_str("<p class=\"empty\">No incident matches.</p>");
    }
    body.push_str("<h2>Time to revoke</h2><table class=\"times\" id=\"times\"><thead><tr><th>Provider</th><th>Revoked</th><th>Median</th><th>Worst</th><th>Live, not revoked</th><th>Overdue</th><th></th></tr></thead><tbody>");
    for t in times {
        body.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td><td>{}</td></tr>",
            e(&t.provider),
            t.revoked,
            t.median_seconds.map(age).unwrap_or_else(|| "-".into()),
            t.worst_seconds.map(age).unwrap_or_else(|| "-".into()),
            t.open_live,
            if t.overdue > 0 { " overdue-text" } else { "" },
            t.overdue,
            if t.open_live > 0 {
                format!(
                    "<a class=\"danger\" href=\"/providers/{}/revoke-live\">Revoke all live…</a>",
                    e(&percent_encoding::utf8_percent_encode(&t.provider, percent_encoding::NON_ALPHANUMERIC).to_string())
                )
            } else {
                String::new()
            },
        ));
    }
    body.push_str("</tbody></table>");
    let mut by_provider: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    for r in all {
        *by_provider.entry(r.provider.clone()).or_default() += 1;
        *by_state.entry(r.state.clone()).or_default() += 1;
    }
    body.push_str("<section class=\"charts\">");
    body.push_str(&bar_chart(
        "Incidents by provider",
        &by_provider.into_iter().collect::<Vec<_>>(),
    ));
    body.push_str(&bar_chart(
        "Incidents by state",
        &by_state.into_iter().collect::<Vec<_>>(),
    ));
    body.push_str("</section>");
    layout("Incidents", &body)
}

fn opt(value: &Option<String>) -> String {
    e(value.as_deref().unwrap_or("-"))
}

/// One incident: facts, locations, issues, the journal and the audit trail.
pub fn incident(d: &IncidentDetail) -> String {
    let r = &d.row;
    let mut body = format!(
        "<h1>Incident {} <span class=\"state state-{}\">{}</span>{}</h1>",
        r.id,
        e(&r.state),
        e(&r.state),
        if r.overdue {
            " <span class=\"badge\">overdue</span>"
        } else {
            ""
        }
    );
    body.push_str(&format!(
        "<dl class=\"facts\"><dt>Kind</dt><dd>{} ({})</dd><dt>Provider</dt><dd>{}</dd><dt>Severity</dt><dd>{}</dd><dt>Verification</dt><dd id=\"verification\">{}</dd><dt>Owner</dt><dd>{}</dd><dt>Reason</dt><dd>{}</dd><dt>Policy action</dt><dd>{}</dd><dt>Detected</dt><dd>{} ({} ago)</dd><dt>Revoke after</dt><dd>{}</dd><dt>Confirmed dead</dt><dd>{}</dd><dt>Fingerprint</dt><dd><code>{}</code></dd><dt>Issues</dt><dd id=\"issues\">{}</dd></dl>",
        e(&r.kind),
        e(&r.rule_id),
        e(&r.provider),
        e(&r.severity),
        opt(&r.live),
        opt(&d.owner),
        opt(&r.reason),
        opt(&d.action),
        e(&r.detected_at),
        e(&age(r.age_seconds)),
        opt(&d.revoke_after),
        opt(&d.dead_at),
        e(&r.fingerprint),
        if r.issues.is_empty() { "none".into() } else { issue_links(r) },
    ));
    if r.revocable {
        body.push_str(&format!(
            "<p><a class=\"danger button\" id=\"revoke\" href=\"/incidents/{}/revoke\">Revoke now…</a></p>",
            r.id
        ));
    }
    body.push_str("<h2>Locations</h2><table id=\"locations\"><thead><tr><th>Repository</th><th>Path</th><th>Line</th><th>Commit</th><th>Source</th></tr></thead><tbody>");
    for l in &d.locations {
        let path = match &l.link {
            Some(link) => format!(
                "<a href=\"{}\" rel=\"noreferrer noopener\">{}</a>",
                e(link),
                e(&l.path)
            ),
            None => e(&l.path),
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td class=\"path\">{path}</td><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td></tr>",
            e(&l.repository),
            l.line,
            e(l.commit.as_deref().unwrap_or("")),
            e(&l.source)
        ));
    }
    body.push_str("</tbody></table><h2>Timeline</h2><ol class=\"timeline\" id=\"timeline\">");
    for step in &d.timeline {
        body.push_str(&format!(
            "<li class=\"phase-{}\"><time>{}</time> <strong>{}</strong> {} {}</li>",
            e(&step.phase),
            e(&clock::rfc3339(step.at)),
            e(&step.step),
            e(&step.phase),
            e(step.detail.as_deref().unwrap_or(""))
        ));
    }
    if d.timeline.is_empty() {
        body.push_str("<li>nothing done yet</li>");
    }
    body.push_str("</ol><h2>Audit trail</h2>");
    if d.audit.intact {
        body.push_str(&format!(
            "<p class=\"chain ok\" id=\"chain\">Audit chain intact: {} record(s) in {}, head <code>{}</code>.</p>",
            d.audit.records,
            e(&d.audit.path),
            e(&d.audit.head)
        ));
    } else {
        body.push_str(&format!(
            "<div class=\"chain broken\" id=\"chain\"><p>Audit chain BROKEN in {}: keep the file as evidence.</p><ul>{}</ul></div>",
            e(&d.audit.path),
            d.audit
                .problems
                .iter()
                .map(|p| format!("<li>{}</li>", e(p)))
                .collect::<String>()
        ));
    }
    body.push_str("<table id=\"audit\"><thead><tr><th>Seq</th><th>Time</th><th>Actor</th><th>Action</th><th>Phase</th><th>Outcome</th><th>Request id</th><th>Error</th></tr></thead><tbody>");
    for a in &d.audit.entries {
        body.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.seq,
            e(&a.time),
            e(&a.actor),
            e(&a.action),
            e(&a.phase),
            e(&a.outcome),
            opt(&a.request_id),
            opt(&a.error)
        ));
    }
    body.push_str("</tbody></table>");
    layout(&format!("Incident {}", r.id), &body)
}

fn action_form(action: &str, csrf: &str, enabled: bool, what: &str) -> String {
    if !enabled {
        return "<p class=\"message\">Emergency actions are off: start <code>leakstop serve</code> with <code>--findings FILE</code> (the report holding the secrets, as for <code>bot revoke</code>).</p>".into();
    }
    format!(
        "<form method=\"post\" action=\"{}\" class=\"confirm\" id=\"confirm-form\"><input type=\"hidden\" name=\"csrf\" id=\"csrf\" value=\"{}\"><p><label>Token <input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"off\" required></label></p><p><label><input type=\"checkbox\" name=\"confirm\" id=\"confirm\" value=\"yes\" required> {}</label></p><p><button type=\"submit\" class=\"danger\" id=\"do-revoke\">Revoke now</button> <a href=\"/\">Cancel</a></p></form>",
        e(action),
        e(csrf),
        e(what)
    )
}

/// The confirmation step before revoking one incident.
pub fn confirm_incident(d: &IncidentDetail, csrf: &str, enabled: bool) -> String {
    let r = &d.row;
    let mut body = format!(
        "<h1>Revoke incident {}?</h1><p>{} ({}) of {}, state <strong>{}</strong>, verification {}, seen in {} location(s):</p><ul>",
        r.id,
        e(&r.kind),
        e(&r.rule_id),
        e(&r.provider),
        e(&r.state),
        opt(&r.live),
        r.locations
    );
    for l in &d.locations {
        body.push_str(&format!(
            "<li class=\"path\">{} {}:{}</li>",
            e(&l.repository),
            e(&l.path),
            l.line
        ));
    }
    body.push_str("</ul><p>The bot revokes the key now, whatever the policy's overlap window says, confirms it dead and updates the issue; every step is audited. Running it twice does nothing more.</p>");
    body.push_str(&action_form(
        &format!("/incidents/{}/revoke", r.id),
        csrf,
        enabled,
        &format!("Yes, revoke the key of incident {} now", r.id),
    ));
    layout(&format!("Revoke incident {}", r.id), &body)
}

/// The confirmation step before revoking every live key of a provider.
pub fn confirm_provider(provider: &str, rows: &[IncidentRow], csrf: &str, enabled: bool) -> String {
    let mut body = format!(
        "<h1>Revoke every live {} key?</h1><p>{} incident(s) with a live key not yet revoked:</p><ul>",
        e(provider),
        rows.len()
    );
    for r in rows {
        body.push_str(&format!(
            "<li><a href=\"/incidents/{}\">#{}</a> {} in {}</li>",
            r.id,
            r.id,
            e(&r.kind),
            e(&r.repositories.join(", "))
        ));
    }
    body.push_str("</ul>");
    body.push_str(&action_form(
        &format!(
            "/providers/{}/revoke-live",
            percent_encoding::utf8_percent_encode(provider, percent_encoding::NON_ALPHANUMERIC)
        ),
        csrf,
        enabled,
        &format!("Yes, revoke all {} live {provider} key(s) now", rows.len()),
    ));
    layout(&format!("Revoke live {provider} keys"), &body)
}

/// What an emergency action did.
pub fn acted(summary: &Summary, text: &str, back: &str) -> String {
    let states: Vec<String> = summary
        .by_state
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let mut body = format!(
        "<h1>Done</h1><p id=\"result\">{} incident(s) acted on{}; {} live key(s) left.</p>",
        summary.incidents,
        if states.is_empty() {
            String::new()
        } else {
            format!(": {}", e(&states.join(", ")))
        },
        summary.live_left
    );
    if !summary.errors.is_empty() {
        body.push_str(&format!(
            "<div class=\"chain broken\"><p>Errors (the next run retries):</p><ul>{}</ul></div>",
            summary
                .errors
                .iter()
                .map(|x| format!("<li>{}</li>", e(x)))
                .collect::<String>()
        ));
    }
    body.push_str(&format!(
        "<pre id=\"output\">{}</pre><p><a href=\"{}\">Back</a></p>",
        e(text),
        e(back)
    ));
    layout("Done", &body)
}
