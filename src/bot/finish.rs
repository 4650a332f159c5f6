//! Finishing a reversible revocation: a deactivated AWS access key or a
//! disabled Google service-account key is kept for the policy's grace
//! period (`grace`, a week by default; counted from the moment the key was
//! confirmed dead), so whoever still depended on it can switch it back on
//! while a replacement rolls out, and is then deleted for good by the
//! first run after it — like the overlap window, on a later run. The
//! deletion is a recorded step (`delete`: intent, then result, in the
//! journal and the audit log), followed by one more confirmation; only
//! then is the incident closed.
//!
//! Crash safety: a run that dies before the call sends it again; one that
//! dies after the call, before recording it, sends it again too, and the
//! provider's "no such key" (AWS 404 `NoSuchEntity`, Google 404) counts as
//! done, so the retry finishes instead of failing on every later run.

use super::incident::State;
use super::providers::{self, Revoked, Target};
use super::run::Bot;
use super::steps::{Dead, Done};
use super::store::{Incident, Phase};
use super::{clock, failpoint};

impl Bot<'_> {
    /// Whether the incident's revocation is reversible and is made
    /// permanent after the grace period (its provider has a finish step).
    pub(super) fn finishes(&self, incident: &Incident) -> bool {
        providers::for_rule(&incident.rule_id)
            .is_some_and(|provider| !provider.finish_plan("").is_empty())
    }

    /// When the deactivated key of an incident waiting for its deletion is
    /// deleted (not before); None when nothing waits.
    pub(super) fn delete_after(&self, incident: &Incident) -> Option<i64> {
        let waiting = incident.state == State::ConfirmedDead
            && self.finishes(incident)
            && self.store.last_phase(incident.id, "delete").ok()? != Some(Phase::Done);
        waiting.then(|| self.grace_ends(incident))
    }

    /// The end of an incident's grace period: the policy's `grace` after
    /// the key was confirmed dead (a stateless run restores that time from
    /// the issue, so the period does not start again).
    fn grace_ends(&self, incident: &Incident) -> i64 {
        let decision = self.decide(incident, &self.repo_of(incident));
        incident.dead_at.unwrap_or(incident.updated_at) + decision.grace
    }

    /// Deletes a confirmed-dead, deactivated key once its grace period has
    /// passed, confirms it dead again and closes the incident.
    pub(super) fn finish_step(
        &mut self,
        incident: &mut Incident,
        done: &mut Done,
    ) -> anyhow::Result<()> {
        if incident.state != State::ConfirmedDead || !self.finishes(incident) {
            return Ok(());
        }
        let Some((leak, secret)) = self.secrets.get(&incident.fingerprint).cloned() else {
            return Ok(());
        };
        let now = clock::now();
        if self.store.last_phase(incident.id, "delete")? != Some(Phase::Done) {
            let at = self.grace_ends(incident);
            if now < at {
                // Said once, in the run that deactivated the key.
                if let Some(lines) = done.get_mut(&incident.id).filter(|l| !l.is_empty()) {
                    lines.push(format!(
                        "the deactivated key is deleted by the first run after {} (the grace period)",
                        clock::rfc3339(at)
                    ));
                }
                return Ok(());
            }
            let Some(provider) = providers::for_rule(&incident.rule_id) else {
                return Ok(());
            };
            let Some(base) = self.base_or_error(incident, provider.as_ref()) else {
                return Ok(());
            };
            let call = provider.finish_plan(&base).join(", ");
            let context = self.revoke_context(&incident.provider, &base);
            let target = Target::of(&leak, &secret, incident.owner.as_deref());
            self.intent(incident, "delete")?;
            failpoint("before", "delete");
            let result = provider.finish(&context, &target);
            failpoint("after", "delete");
            let lines = done.entry(incident.id).or_default();
            match result {
                Some(Revoked::Accepted { request_id }) => {
                    lines.push(format!("deleted via {call}"));
                    self.result(
                        incident,
                        "delete",
                        true,
                        &format!("deleted: {call}"),
                        request_id,
                    )?;
                }
                Some(Revoked::AlreadyDead) => {
                    lines.push("the provider says the key is already gone".into());
                    self.result(
                        incident,
                        "delete",
                        true,
                        &format!("already gone: {call}"),
                        None,
                    )?;
                }
                Some(Revoked::Manual(reason)) => {
                    self.result(incident, "delete", false, &reason, None)?;
                    self.store
                        .set_state(incident, State::NeedsHuman, Some(&reason), now)?;
                    return Ok(());
                }
                Some(Revoked::Failed { error }) => {
                    self.result(incident, "delete", false, &error, None)?;
                    self.errors.push(format!(
                        "incident {}: delete: {error}; the next run tries again",
                        incident.id
                    ));
                    return Ok(());
                }
                None => return Ok(()),
            }
        }
        // Deleted (now or by an earlier run): confirm, then close.
        match self.check_dead(incident)? {
            Some(dead @ (Dead::Yes(_) | Dead::Unknowable)) => {
                if let Dead::Yes(detail) = dead {
                    done.entry(incident.id)
                        .or_default()
                        .push(format!("confirmed dead after the deletion ({detail})"));
                }
                self.store
                    .set_state(incident, State::Closed, None, clock::now())?;
            }
            Some(Dead::No(detail)) => self.errors.push(format!(
                "incident {}: still {detail} after deletion; the next run checks again",
                incident.id
            )),
            None => {}
        }
        Ok(())
    }
}
