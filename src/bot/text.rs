//! What the bot writes on GitHub: issue titles (provider, kind of key, file;
//! never the secret), bodies with locations as links, what was done and what
//! a human must still do, the audit trail, and a machine-readable state
//! block from which a run with no local store rebuilds the incident.

use super::incident::Location;
use super::store::Incident;
use serde::{Deserialize, Serialize};

/// One line of an incident's timeline (its journal).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub step: String,
    pub phase: String,
    #[serde(default)]
    pub detail: Option<String>,
    pub at: i64,
}

/// The state block: everything a stateless run needs to carry on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateBlock {
    pub fingerprint: String,
    pub provider: String,
    pub rule_id: String,
    pub kind: String,
    pub severity: String,
    pub state: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub live: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub revoke_after: Option<i64>,
    pub detected_at: i64,
    #[serde(default)]
    pub dead_at: Option<i64>,
    #[serde(default)]
    pub steps: Vec<Step>,
}

const STATE_OPEN: &str = "<!-- leakstop:state ";

/// Reads the state block out of an issue body.
pub fn parse_state(body: &str) -> Option<StateBlock> {
    let start = body.find(STATE_OPEN)? + STATE_OPEN.len();
    let end = body[start..].find(" -->")? + start;
    serde_json::from_str(&body[start..end]).ok()
}

/// Everything an issue body shows.
pub struct IssueFacts<'a> {
    pub incident: &'a Incident,
    pub locations: &'a [Location],
    pub steps: &'a [Step],
    /// What a human must still do, one item each.
    pub todo: &'a [String],
    /// Code owners that cannot be assigned (teams, e-mail addresses),
    /// checked by super::owners; mentioned so GitHub notifies them.
    pub mentions: &'a [String],
    pub web_base: &'a str,
    pub audit_head: &'a str,
    /// A deactivated key waiting for its grace period: deleted not before this.
    pub delete_after: Option<i64>,
}

pub fn title(incident: &Incident, locations: &[Location]) -> String {
    let file = locations
        .first()
        .map(|l| l.path.as_str())
        .unwrap_or("unknown file");
    let more = if locations.len() > 1 {
        format!(" (+{} more)", locations.len() - 1)
    } else {
        String::new()
    };
    format!(
        "Leaked {} ({}) in {file}{more}",
        incident.kind, incident.provider
    )
}

/// Markdown-safe inline text: no table breaks, no HTML, no mentions.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@\u{200b}")
        .replace(['\n', '\r'], " ")
}

fn link(web_base: &str, location: &Location) -> String {
    let label = cell(&format!("{}:{}", location.path, location.line));
    if location.repo.is_empty() {
        return format!("`{label}`");
    }
    let path: String = location
        .path
        .split('/')
        .map(crate::verify::endpoint::encode_segment)
        .collect::<Vec<_>>()
        .join("/");
    let reference = location.commit.as_deref().unwrap_or("HEAD");
    let commit = location
        .commit
        .as_deref()
        .map(|c| format!(", commit `{}`", &c[..c.len().min(12)]))
        .unwrap_or_default();
    format!(
        "[{label}]({web_base}/{}/blob/{reference}/{path}#L{}) in {}{commit} ({})",
        location.repo,
        location.line,
        cell(&location.repo),
        cell(&location.source)
    )
}

pub fn state_block(incident: &Incident, steps: &[Step]) -> String {
    let block = StateBlock {
        fingerprint: incident.fingerprint.clone(),
        provider: incident.provider.clone(),
        rule_id: incident.rule_id.clone(),
        kind: incident.kind.clone(),
        severity: incident.severity.clone(),
        state: incident.state.as_str().into(),
        reason: incident.reason.clone(),
        live: incident.live.clone(),
        owner: incident.owner.clone(),
        action: incident.action.map(|a| a.as_str().to_string()),
        revoke_after: incident.revoke_after,
        detected_at: incident.detected_at,
        dead_at: incident.dead_at,
        steps: steps.to_vec(),
    };
    // `-->` would end the comment early; `\u003e` is the same JSON string.
    let json = serde_json::to_string(&block)
        .unwrap_or_default()
        .replace("-->", "--\\u003e");
    format!("{STATE_OPEN}{json} -->")
}

pub fn body(facts: &IssueFacts<'_>) -> String {
    let i = facts.incident;
    let mut out = String::new();
    out.push_str(&format!(
        "leakstop found a leaked **{}** credential ({}).\n\n",
        cell(&i.kind),
        cell(&i.provider)
    ));
    out.push_str("| | |\n|---|---|\n");
    out.push_str(&format!("| Severity | {} |\n", cell(&i.severity)));
    out.push_str(&format!(
        "| Live when checked | {} |\n",
        cell(i.live.as_deref().unwrap_or("not checked yet"))
    ));
    if let Some(owner) = &i.owner {
        out.push_str(&format!(
            "| Owner (from the provider) | {} |\n",
            cell(owner)
        ));
    }
    out.push_str(&format!("| State | **{}** |\n", i.state));
    if let Some(reason) = &i.reason {
        out.push_str(&format!("| Why | {} |\n", cell(reason)));
    }
    out.push_str(&format!(
        "| Detected | {} |\n",
        super::clock::rfc3339(i.detected_at)
    ));
    if let (Some(at), Some(super::incident::Action::RotateThenRevoke)) = (i.revoke_after, i.action)
    {
        out.push_str(&format!(
            "| Old key revoked not before | {} |\n",
            super::clock::rfc3339(at)
        ));
    }
    if let Some(at) = facts.delete_after {
        out.push_str(&format!(
            "| Deactivated key deleted not before | {} (the grace period) |\n",
            super::clock::rfc3339(at)
        ));
    }
    out.push_str(&format!("| Fingerprint | `{}` |\n\n", i.fingerprint));
    out.push_str("### Where it was found\n\n");
    for location in facts.locations {
        out.push_str(&format!("- {}\n", link(facts.web_base, location)));
    }
    out.push_str("\n### What a human must still do\n\n");
    for item in facts.todo {
        out.push_str(&format!("- [ ] {}\n", cell(item)));
    }
    if !facts.mentions.is_empty() {
        out.push_str(&format!(
            "\nCode owners of the file (teams cannot be assigned): {}\n",
            facts.mentions.join(" ")
        ));
    }
    out.push_str("\n### Audit trail\n\n| time | step | phase | detail |\n|---|---|---|---|\n");
    for step in facts.steps {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            super::clock::rfc3339(step.at),
            cell(&step.step),
            cell(&step.phase),
            cell(step.detail.as_deref().unwrap_or(""))
        ));
    }
    out.push_str(&format!(
        "\nAudit chain head: `{}`\n\n{}\n{}\n",
        facts.audit_head,
        crate::github::issues::marker(&i.fingerprint),
        state_block(i, facts.steps)
    ));
    out
}

/// A comment for a state change; it carries the audit chain head.
pub fn comment(from: &str, incident: &Incident, done: &[String], audit_head: &str) -> String {
    let mut out = format!("State: {from} → **{}**\n\n", incident.state);
    for line in done {
        out.push_str(&format!("- {}\n", cell(line)));
    }
    if let Some(reason) = &incident.reason {
        out.push_str(&format!("\nWhy: {}\n", cell(reason)));
    }
    out.push_str(&format!("\nAudit chain head: `{audit_head}`\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_block_survives_a_hostile_reason() {
        let incident = Incident {
            id: 1,
            fingerprint: "lsfp1:ab".into(),
            provider: "github".into(),
            rule_id: "github.pat-classic".into(),
            kind: "GitHub PAT".into(),
            severity: "high".into(),
            state: super::super::incident::State::Revoked,
            reason: Some("x --> <script>".into()),
            live: Some("live".into()),
            owner: None,
            action: None,
            revoke_after: None,
            detected_at: 5,
            updated_at: 5,
            dead_at: None,
        };
        let block = state_block(&incident, &[]);
        assert_eq!(block.matches("-->").count(), 1);
        let parsed = parse_state(&format!("text\n{block}\n")).unwrap();
        assert_eq!(parsed.reason.as_deref(), Some("x --> <script>"));
        assert_eq!(parsed.state, "revoked");
    }
}
