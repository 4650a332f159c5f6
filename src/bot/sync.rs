//! Keeping an incident's GitHub issue in step: find it by its marker (also
//! after a crash or on a fresh runner), open it once, then one comment per
//! state change carrying the audit chain head, the body (with its state
//! block) rewritten, and the issue closed when the incident is. Issues
//! disabled (410) fall back to the policy's central repository.

use super::incident::State;
use super::providers;
use super::run::Bot;
use super::store::{Incident, Phase};
use super::{clock, failpoint, text};

impl Bot<'_> {
    /// What a human must still do, for the issue.
    fn todo(&self, incident: &Incident) -> Vec<String> {
        let mut out = Vec::new();
        if incident.state == State::NeedsHuman {
            if let Some(reason) = &incident.reason {
                out.push(reason.clone());
            }
        }
        if let Some(provider) = providers::for_rule(&incident.rule_id) {
            out.push(format!("{} ({})", provider.after(), provider.docs()));
        }
        out.push("Remove the secret from the code and from git history (git filter-repo), and from forks, caches and CI logs: revocation does not delete copies.".into());
        out.push("Update every consumer of the old credential.".into());
        let until = incident
            .dead_at
            .map(clock::rfc3339)
            .unwrap_or_else(|| "now".into());
        out.push(format!(
            "Check the provider's logs for use of the key up to {until}."
        ));
        out
    }

    pub(super) fn issue_step(
        &mut self,
        incident: &mut Incident,
        from: State,
        lines: Option<&Vec<String>>,
    ) -> anyhow::Result<()> {
        let repo = self.repo_of(incident);
        let decision = self.decide(incident, &repo);
        let Some(mut target) = decision.issue_repo.clone() else {
            return Ok(());
        };
        let Some((_, web)) = &self.github else {
            return Ok(());
        };
        let web = web.clone();
        let mut existing = self.store.issue(incident.id, &target)?;
        // Found on GitHub but not in the store: an earlier run opened it and
        // died, or another runner did. Its body and state are brought up to date.
        let mut resync = false;
        if existing.is_none() {
            if let Some(found) = self.find_issue(&target, &incident.fingerprint)? {
                resync = found.open == (incident.state == State::Closed) || from != incident.state;
                self.store
                    .set_issue(incident.id, &target, found.number, &found.url)?;
                self.store.journal(
                    incident.id,
                    "issue",
                    Phase::Done,
                    Some(&found.url),
                    clock::now(),
                )?;
                existing = Some((found.number, found.url));
            }
        }
        let locations = self.store.locations(incident.id)?;
        let todo = self.todo(incident);
        let owners = self.owners(incident, &decision);
        let close = incident.state == State::Closed;
        let Some((number, _)) = existing else {
            self.intent(incident, "issue")?;
            let body = self.render(incident, &locations, &todo, &web);
            failpoint("before", "issue");
            let title = text::title(incident, &locations);
            let created = self.create(&target, &title, &body, &decision, &owners.users);
            let issue = match created {
                Ok(issue) => issue,
                Err(e)
                    if e.status() == Some(410)
                        && self
                            .policy
                            .central_repo
                            .as_deref()
                            .is_some_and(|c| c != target) =>
                {
                    target = self.policy.central_repo.clone().unwrap_or_default();
                    self.create(&target, &title, &body, &decision, &owners.users)?
                }
                Err(e) => {
                    self.result(incident, "issue", false, &e.to_string(), None)?;
                    return Err(e.into());
                }
            };
            failpoint("after", "issue");
            self.store
                .set_issue(incident.id, &target, issue.number, &issue.url)?;
            self.result(incident, "issue", true, &issue.url, None)?;
            if close {
                let body = self.render(incident, &locations, &todo, &web);
                let client = &self.github.as_ref().map(|g| &g.0);
                if let Some(client) = client {
                    client.update_issue(&target, issue.number, &body, true)?;
                }
            }
            return Ok(());
        };
        if from == incident.state && lines.is_none_or(|l| l.is_empty()) {
            if resync {
                let body = self.render(incident, &locations, &todo, &web);
                if let Some((client, _)) = &self.github {
                    client.update_issue(&target, number, &body, close)?;
                }
            }
            return Ok(());
        }
        let step = format!("comment:{}", incident.state);
        self.intent(incident, &step)?;
        let comment = text::comment(
            from.as_str(),
            incident,
            lines.map(Vec::as_slice).unwrap_or(&[]),
            self.audit.head(),
        );
        let body = self.render(incident, &locations, &todo, &web);
        if let Some((client, _)) = &self.github {
            client.comment(&target, number, &comment)?;
            failpoint("after", "comment");
            client.update_issue(&target, number, &body, close)?;
        }
        self.result(incident, &step, true, "posted", None)?;
        Ok(())
    }

    fn create(
        &self,
        repo: &str,
        title: &str,
        body: &str,
        decision: &super::policy::Decision,
        assignees: &[String],
    ) -> Result<crate::github::issues::Issue, crate::github::GithubError> {
        match &self.github {
            Some((client, _)) => {
                client.create_issue(repo, title, body, &decision.labels, assignees)
            }
            None => Err(crate::github::GithubError::Setup("no GitHub client".into())),
        }
    }

    fn render(
        &self,
        incident: &Incident,
        locations: &[super::incident::Location],
        todo: &[String],
        web: &str,
    ) -> String {
        let steps = self.steps(incident);
        let decision = self.decide(incident, &self.repo_of(incident));
        let mentions = self.owners(incident, &decision).mentions;
        text::body(&text::IssueFacts {
            mentions: &mentions,
            incident,
            locations,
            steps: &steps,
            todo,
            web_base: web,
            audit_head: self.audit.head(),
            delete_after: self.delete_after(incident),
        })
    }
}
