//! Rotation, for `rotate-then-revoke` incidents whose provider can mint a
//! replacement and when the policy names a secret store: rotate (once, never
//! retried), test the replacement (verified live with the same check as the
//! leaked key), store it (check-and-set, so never twice), and — where the
//! rotation did not already revoke the old key — leave the revocation to the
//! overlap window. Like AWS Secrets Manager's own rotation, each step is
//! recorded before and after, and a run that finds a rotation interrupted
//! hands the incident to a human instead of guessing.

use super::incident::{Action, State};
use super::providers::{self, verify_leak, Rotated, Target};
use super::run::Bot;
use super::store::{Incident, Phase};
use super::{clock, failpoint, stores};
use crate::verify::Status;

impl Bot<'_> {
    /// Rotates one incident if policy, provider and store allow it.
    pub(super) fn rotate_step(
        &mut self,
        incident: &mut Incident,
        done: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        if incident.state != State::Live || incident.action != Some(Action::RotateThenRevoke) {
            return Ok(());
        }
        let (Some(spec), Some(token)) =
            (self.policy.store.clone(), self.settings.store_token.clone())
        else {
            return Ok(());
        };
        let Some(provider) = providers::for_rule(&incident.rule_id) else {
            return Ok(());
        };
        let Some((leak, secret)) = self.secrets.get(&incident.fingerprint).cloned() else {
            return Ok(());
        };
        let Some(base) = self.base_or_error(incident, provider.as_ref()) else {
            return Ok(());
        };
        let context = self.revoke_context(&incident.provider, &base);
        let target = Target::of(&leak, &secret, incident.owner.as_deref());
        if self.store.last_phase(incident.id, "rotate")? == Some(Phase::Intent) {
            // The last run died with the rotation announced: ask the
            // provider whether it landed (AWS: ListAccessKeys) before
            // anything is created again.
            if let Err(reason) = provider.reconcile_rotation(&context, &target) {
                self.store
                    .set_state(incident, State::NeedsHuman, Some(&reason), clock::now())?;
                return Ok(());
            }
        }
        self.intent(incident, "rotate")?;
        failpoint("before", "rotate");
        let rotated = provider.rotate(&context, &target);
        failpoint("after", "rotate");
        let (new, id, revoked_old, companions, stored) = match rotated {
            Rotated::NotSupported => {
                self.result(
                    incident,
                    "rotate",
                    true,
                    "the provider cannot rotate this credential",
                    None,
                )?;
                return Ok(());
            }
            Rotated::AlreadyDead => {
                self.result(
                    incident,
                    "rotate",
                    true,
                    "the old credential was already dead",
                    None,
                )?;
                self.store
                    .set_state(incident, State::Revoked, None, clock::now())?;
                return Ok(());
            }
            Rotated::Refused { error } => {
                self.result(incident, "rotate", false, &error, None)?;
                self.errors
                    .push(format!("incident {}: rotate: {error}", incident.id));
                return Ok(());
            }
            Rotated::Unknown { error } => {
                self.result(
                    incident,
                    "rotate",
                    false,
                    &format!("outcome unknown: {error}"),
                    None,
                )?;
                let reason = format!(
                    "the rotation's answer was lost ({error}); it is never retried: check the provider, \
                     revoke any new token and rotate by hand"
                );
                self.store
                    .set_state(incident, State::NeedsHuman, Some(&reason), clock::now())?;
                return Ok(());
            }
            Rotated::Manual(reason) => {
                self.result(incident, "rotate", false, &reason, None)?;
                self.store
                    .set_state(incident, State::NeedsHuman, Some(&reason), clock::now())?;
                return Ok(());
            }
            Rotated::New {
                secret,
                id,
                revoked_old,
                companions,
                stored,
            } => (secret, id, revoked_old, companions, stored),
        };
        let named = id
            .as_deref()
            .map(|id| format!(" (id {id})"))
            .unwrap_or_default();
        self.result(
            incident,
            "rotate",
            true,
            &format!("replacement created{named}"),
            None,
        )?;
        self.store
            .set_state(incident, State::ReplacementCreated, None, clock::now())?;
        done.push(format!("replacement created{named}"));
        // Test the replacement before anything depends on it.
        let mut probe = leak.clone();
        probe.companions = companions;
        let test = verify_leak(&probe, &new, &self.env);
        if test.status != Status::Live {
            let reason = format!(
                "the replacement{named} did not verify as live ({}): it was not stored; revoke it and rotate by hand",
                test.status
            );
            self.store
                .set_state(incident, State::NeedsHuman, Some(&reason), clock::now())?;
            return Ok(());
        }
        let location = stores::StoreSpec::location(
            &spec,
            &incident.provider,
            &incident.rule_id,
            &incident.fingerprint,
        )
        .map_err(anyhow::Error::msg)?;
        self.intent(incident, "store")?;
        failpoint("before", "store");
        let value = stored.as_ref().unwrap_or(&new);
        let write = stores::Write {
            incident: &incident.fingerprint,
            location: &location,
            value,
        };
        let stored = stores::store_replacement(&spec, &token, &write, self.env.client);
        drop(new);
        drop(probe);
        failpoint("after", "store");
        match stored {
            Ok(stored) => {
                let detail = stored.describe();
                self.result(incident, "store", true, &detail, stored.request_id)?;
                self.store
                    .set_state(incident, State::ReplacementStored, None, clock::now())?;
                done.push(detail);
            }
            Err(error) => {
                self.result(incident, "store", false, &error, None)?;
                let reason = format!(
                    "the replacement{named} could not be stored ({error}) and was dropped: revoke it and rotate by hand"
                );
                self.store
                    .set_state(incident, State::NeedsHuman, Some(&reason), clock::now())?;
                return Ok(());
            }
        }
        if revoked_old {
            self.store
                .set_state(incident, State::Revoked, None, clock::now())?;
            done.push("the rotation revoked the old credential".into());
        }
        Ok(())
    }
}
