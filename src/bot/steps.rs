//! The steps of an execute run, in order over all selected incidents:
//! verify → decide → rotate → revoke (batched per provider) → confirm dead
//! → delete after the grace period (super::finish) → issue.
//! Each external call is preceded by an `intent` row in the journal and an
//! audit record, and followed by its result; a run that finds an intent
//! with no result (the last run died there) reconciles with the provider
//! before doing anything that is not safe to repeat.

use super::audit::Entry;
use super::incident::{Action, State};
use super::providers::{self, is_dead, verify_leak, RevokeContext, Revoked, Target};
use super::run::Bot;
use super::store::{Incident, Phase};
use super::{clock, failpoint};
use crate::verify::Status;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// Seconds a run holds an incident's lease.
const LEASE: i64 = 600;

pub(super) type Done = HashMap<i64, Vec<String>>;

/// What a check after a revocation found.
pub(super) enum Dead {
    /// The credential no longer works (how the check said so).
    Yes(String),
    /// It still works, or the check had no answer (what it said).
    No(String),
    /// Nothing can check this kind of credential.
    Unknowable,
}

impl<'s> Bot<'s> {
    /// Where a provider call goes and with which admin credentials (the
    /// ones the policy names for the provider). It borrows what the bot
    /// was given, not the bot, which goes on recording meanwhile.
    pub(super) fn revoke_context<'b>(&self, provider: &str, base_url: &'b str) -> RevokeContext<'b>
    where
        's: 'b,
    {
        let settings: &'s super::run::Settings = self.settings;
        RevokeContext {
            base_url,
            client: self.env.client,
            credentials: settings.credentials.get(provider),
        }
    }
}

impl Bot<'_> {
    /// Drives the selected incidents; prints one line per incident.
    pub(super) fn drive(
        &mut self,
        incidents: &mut [Incident],
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        let now = clock::now();
        let mut mine = Vec::new();
        for (index, incident) in incidents.iter().enumerate() {
            let issue_pending = self.github.is_some()
                && self.store.last_phase(incident.id, "issue")? != Some(Phase::Done);
            if incident.state.is_final() && !issue_pending && !self.settings.force_revoke {
                continue;
            }
            if !self.lease(incident.id, now)? {
                self.errors.push(format!(
                    "incident {}: another bot is working on it; skipped",
                    incident.id
                ));
                continue;
            }
            mine.push(index);
        }
        let before: Vec<State> = incidents.iter().map(|i| i.state).collect();
        let mut done: Done = HashMap::new();
        for &i in &mine {
            self.verify_step(&mut incidents[i], &mut done)?;
        }
        for &i in &mine {
            self.decide_step(&mut incidents[i])?;
            let lines = done.entry(incidents[i].id).or_default();
            self.rotate_step(&mut incidents[i], lines)?;
        }
        self.revoke_step(incidents, &mine, &mut done)?;
        for &i in &mine {
            self.confirm_step(&mut incidents[i], &mut done)?;
        }
        for &i in &mine {
            self.finish_step(&mut incidents[i], &mut done)?;
        }
        for &i in &mine {
            let incident = &mut incidents[i];
            // A key deleted after its grace period is closed by finish_step.
            let finishing = incident.state == State::ConfirmedDead && self.finishes(incident);
            if matches!(incident.state, State::ConfirmedDead | State::NotLive) && !finishing {
                let reason = (incident.state == State::NotLive)
                    .then_some("the credential was not live when checked");
                self.store
                    .set_state(incident, State::Closed, reason, clock::now())?;
            }
            if let Err(e) = self.issue_step(incident, before[i], done.get(&incident.id)) {
                self.errors
                    .push(format!("incident {}: issue: {e:#}", incident.id));
            }
            self.store.release(incident.id, &self.holder)?;
            let lines = done.get(&incident.id).cloned().unwrap_or_default();
            writeln!(
                out,
                "incident {} {} ({}): {} -> {}{}",
                incident.id,
                incident.fingerprint,
                incident.rule_id,
                before[i],
                incident.state,
                if lines.is_empty() {
                    String::new()
                } else {
                    format!(": {}", lines.join("; "))
                }
            )?;
        }
        Ok(())
    }

    /// Takes an incident's lease; a lease left by a bot on this host whose
    /// process is gone (it crashed) is taken over.
    fn lease(&self, id: i64, now: i64) -> anyhow::Result<bool> {
        if self.store.lease(id, &self.holder, now, LEASE)? {
            return Ok(true);
        }
        let Some(holder) = self.store.lease_holder(id)? else {
            return Ok(self.store.lease(id, &self.holder, now, LEASE)?);
        };
        let (who, pid) = holder.rsplit_once(':').unwrap_or((&holder, ""));
        let mine = self.holder.rsplit_once(':').map(|(w, _)| w) == Some(who);
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if mine && !alive && std::path::Path::new("/proc/self").exists() {
            return Ok(self
                .store
                .take_lease(id, &holder, &self.holder, now, LEASE)?);
        }
        Ok(false)
    }

    /// The base URL of a provider's revocation API, or None with the
    /// reason among the run's errors (an unsafe or missing URL).
    pub(super) fn base_or_error(
        &mut self,
        incident: &Incident,
        provider: &dyn providers::Provider,
    ) -> Option<String> {
        match self.env.revoke_url(&incident.rule_id, provider) {
            Ok(base) => Some(base),
            Err(e) => {
                self.errors.push(format!("incident {}: {e}", incident.id));
                None
            }
        }
    }

    fn record(
        &mut self,
        incident: &Incident,
        action: &str,
        phase: &'static str,
        outcome: &str,
        error: Option<String>,
        request_id: Option<String>,
    ) -> anyhow::Result<()> {
        let time = clock::rfc3339(clock::now());
        self.audit.append(
            Entry {
                incident: incident.fingerprint.clone(),
                action: action.into(),
                phase,
                provider: incident.provider.clone(),
                key: incident.fingerprint.clone(),
                request_id,
                outcome: outcome.into(),
                error,
            },
            time,
        )?;
        Ok(())
    }

    /// Announces a step: journal intent and audit record, before the call.
    pub(super) fn intent(&mut self, incident: &Incident, step: &str) -> anyhow::Result<()> {
        self.store
            .journal(incident.id, step, Phase::Intent, None, clock::now())?;
        self.record(incident, step, "intent", "pending", None, None)
    }

    /// Records a step's result in the journal and the audit log.
    pub(super) fn result(
        &mut self,
        incident: &Incident,
        step: &str,
        ok: bool,
        detail: &str,
        request_id: Option<String>,
    ) -> anyhow::Result<()> {
        let phase = if ok { Phase::Done } else { Phase::Failed };
        self.store
            .journal(incident.id, step, phase, Some(detail), clock::now())?;
        let (outcome, error) = if ok {
            (detail, None)
        } else {
            ("failed", Some(detail.to_string()))
        };
        self.record(incident, step, "result", outcome, error, request_id)
    }

    fn verify_step(&mut self, incident: &mut Incident, done: &mut Done) -> anyhow::Result<()> {
        if incident.state != State::Detected
            || incident
                .live
                .as_deref()
                .is_some_and(|l| l != "error" && l != "rate_limited")
        {
            return Ok(());
        }
        let Some((leak, secret)) = self.secrets.get(&incident.fingerprint).cloned() else {
            if !self.in_findings.contains(&incident.fingerprint) {
                self.errors.push(format!(
                    "incident {}: its secret is not in these findings; pass the report it came from",
                    incident.id
                ));
                return Ok(());
            }
            let manual =
                providers::manual_steps(self.env.rules.get(incident.rule_id.as_str()).copied());
            let reason = format!(
                "the findings carry no secret, so the bot cannot check or revoke it (scan with --show-secrets); by hand: {} {}",
                manual.steps, manual.url
            );
            self.store.set_state(
                incident,
                State::NeedsHuman,
                Some(reason.trim()),
                clock::now(),
            )?;
            return Ok(());
        };
        self.intent(incident, "verify")?;
        failpoint("before", "verify");
        let result = verify_leak(&leak, &secret, &self.env);
        failpoint("after", "verify");
        let status = result.status;
        let owner = (!result.owner.is_empty()).then(|| {
            result
                .owner
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let detail = match &result.reason {
            Some(reason) if status != Status::Live => format!("{status}: {reason}"),
            _ => status.to_string(),
        };
        let transient = matches!(status, Status::Error | Status::RateLimited);
        self.result(incident, "verify", !transient, &detail, None)?;
        incident.live = Some(status.to_string());
        incident.owner = owner;
        if status == Status::Live {
            self.add_last_used(incident, &leak, &secret);
        }
        self.store.set_facts(incident)?;
        done.entry(incident.id)
            .or_default()
            .push(format!("verified: {detail}"));
        match status {
            Status::Live => self
                .store
                .set_state(incident, State::Live, None, clock::now())?,
            Status::Invalid | Status::Revoked => {
                self.store
                    .set_state(incident, State::NotLive, None, clock::now())?
            }
            _ if transient => self
                .errors
                .push(format!("incident {}: verify: {detail}", incident.id)),
            _ => {}
        }
        Ok(())
    }

    /// Where the provider tells when and where the leaked key was last used
    /// (AWS `GetAccessKeyLastUsed`), adds it to the owner facts the issue shows.
    fn add_last_used(
        &self,
        incident: &mut Incident,
        leak: &super::input::Leak,
        secret: &crate::finding::Secret,
    ) {
        let Some(provider) = providers::for_rule(&incident.rule_id) else {
            return;
        };
        let Ok(base) = self.env.revoke_url(&incident.rule_id, provider.as_ref()) else {
            return;
        };
        let context = self.revoke_context(&incident.provider, &base);
        let target = Target::of(leak, secret, incident.owner.as_deref());
        if let Some(used) = provider.last_used(&context, &target) {
            incident.owner = Some(match incident.owner.take() {
                Some(owner) => format!("{owner}, {used}"),
                None => used,
            });
        }
    }

    fn decide_step(&mut self, incident: &mut Incident) -> anyhow::Result<()> {
        let unknown = incident.state == State::Detected
            && matches!(incident.live.as_deref(), Some("not_supported" | "skipped"));
        if incident.state != State::Live && !unknown {
            return Ok(());
        }
        let repo = self.repo_of(incident);
        let decision = self.decide(incident, &repo);
        let now = clock::now();
        if incident.action.is_none() || self.settings.force_revoke {
            incident.action = Some(if self.settings.force_revoke {
                Action::Revoke
            } else {
                decision.action
            });
            incident.revoke_after = Some(match incident.action {
                Some(Action::RotateThenRevoke) => now + decision.overlap,
                _ => now,
            });
            self.store.set_facts(incident)?;
        }
        match providers::for_rule(&incident.rule_id) {
            Some(_) if incident.action == Some(Action::Notify) => {
                self.store.set_state(
                    incident,
                    State::NeedsHuman,
                    Some("policy says notify only: revoke by hand, or run `leakstop bot revoke --incident ID --execute`"),
                    now,
                )?;
            }
            Some(_) => {}
            None => {
                let manual =
                    providers::manual_steps(self.env.rules.get(incident.rule_id.as_str()).copied());
                let reason = format!("no revocation API: {} {}", manual.steps, manual.url);
                self.store
                    .set_state(incident, State::NeedsHuman, Some(reason.trim()), now)?;
            }
        }
        Ok(())
    }

    /// Revokes every incident that is due, one batch per provider endpoint.
    fn revoke_step(
        &mut self,
        incidents: &mut [Incident],
        mine: &[usize],
        done: &mut Done,
    ) -> anyhow::Result<()> {
        let now = clock::now();
        let mut batches: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for &i in mine {
            let incident = &mut incidents[i];
            let due =
                incident.revoke_after.is_some_and(|at| at <= now) || self.settings.force_revoke;
            let ready = matches!(
                incident.state,
                State::Live | State::Detected | State::NeedsHuman | State::ReplacementStored
            ) && incident
                .action
                .is_some_and(|a| a != Action::Notify || self.settings.force_revoke)
                && self.secrets.contains_key(&incident.fingerprint);
            if !ready
                || !due
                || (incident.state == State::NeedsHuman && !self.settings.force_revoke)
            {
                continue;
            }
            let Some(provider) = providers::for_rule(&incident.rule_id) else {
                continue;
            };
            if self.store.last_phase(incident.id, "revoke")? == Some(Phase::Intent) {
                // The last run died after announcing the revocation: ask the
                // provider whether it landed before sending anything again.
                let (leak, secret) = self.secrets[&incident.fingerprint].clone();
                let check = verify_leak(&leak, &secret, &self.env);
                if is_dead(&check) {
                    self.result(
                        incident,
                        "revoke",
                        true,
                        "reconciled: already dead after an interrupted run",
                        None,
                    )?;
                    self.store.set_state(incident, State::Revoked, None, now)?;
                    done.entry(incident.id)
                        .or_default()
                        .push("revocation from the interrupted run confirmed".into());
                    continue;
                }
                if !provider.idempotent() {
                    self.store.set_state(incident, State::NeedsHuman, Some("a revocation was interrupted and the provider's call is not safe to repeat: check by hand"), now)?;
                    continue;
                }
            }
            let Some(base) = self.base_or_error(incident, provider.as_ref()) else {
                continue;
            };
            batches
                .entry(format!("{}\n{base}", provider.plan(&base).join(",")))
                .or_default()
                .push(i);
        }
        for (key, members) in batches {
            let base = key.split('\n').nth(1).unwrap_or_default().to_string();
            let Some(provider) = providers::for_rule(&incidents[members[0]].rule_id) else {
                continue;
            };
            for &i in &members {
                self.intent(&incidents[i], "revoke")?;
            }
            failpoint("before", "revoke");
            let secrets: Vec<_> = members
                .iter()
                .map(|&i| self.secrets[&incidents[i].fingerprint].clone())
                .collect();
            let targets: Vec<Target<'_>> = members
                .iter()
                .zip(&secrets)
                .map(|(&i, (leak, secret))| Target::of(leak, secret, incidents[i].owner.as_deref()))
                .collect();
            let provider_name = incidents[members[0]].provider.clone();
            let context = self.revoke_context(&provider_name, &base);
            let results = provider.revoke(&context, &targets);
            drop(targets);
            failpoint("after", "revoke");
            let call = provider.plan(&base).join(", ");
            for (&i, result) in members.iter().zip(results) {
                let incident = &mut incidents[i];
                match result {
                    Revoked::Accepted { request_id } => {
                        self.result(
                            incident,
                            "revoke",
                            true,
                            &format!("accepted: {call}"),
                            request_id,
                        )?;
                        self.store
                            .set_state(incident, State::Revoked, None, clock::now())?;
                        done.entry(incident.id)
                            .or_default()
                            .push(format!("revoked via {call}"));
                    }
                    Revoked::AlreadyDead => {
                        self.result(
                            incident,
                            "revoke",
                            true,
                            &format!("already dead: {call}"),
                            None,
                        )?;
                        self.store
                            .set_state(incident, State::Revoked, None, clock::now())?;
                        done.entry(incident.id)
                            .or_default()
                            .push("the provider says it was already dead".into());
                    }
                    Revoked::Manual(reason) => {
                        self.result(incident, "revoke", false, &reason, None)?;
                        self.store.set_state(
                            incident,
                            State::NeedsHuman,
                            Some(&reason),
                            clock::now(),
                        )?;
                    }
                    Revoked::Failed { error } => {
                        self.result(incident, "revoke", false, &error, None)?;
                        self.errors
                            .push(format!("incident {}: revoke: {error}", incident.id));
                    }
                }
            }
        }
        Ok(())
    }

    fn confirm_step(&mut self, incident: &mut Incident, done: &mut Done) -> anyhow::Result<()> {
        if incident.state != State::Revoked {
            return Ok(());
        }
        match self.check_dead(incident)? {
            None => {}
            Some(Dead::Yes(detail)) => {
                self.store
                    .set_state(incident, State::ConfirmedDead, None, clock::now())?;
                done.entry(incident.id)
                    .or_default()
                    .push(format!("confirmed dead ({detail})"));
            }
            Some(Dead::Unknowable) => {
                self.store.set_state(incident, State::NeedsHuman, Some("the provider accepted the revocation, but leakstop cannot check this kind of credential: confirm by hand"), clock::now())?;
            }
            Some(Dead::No(detail)) => self.errors.push(format!(
                "incident {}: still {detail} after revocation; the next run checks again",
                incident.id
            )),
        }
        Ok(())
    }

    /// Asks whether a revoked credential is dead, as a recorded `confirm`
    /// step: its verification, up to three times over three seconds (a
    /// revocation can take a moment to reach every server), else, where
    /// verification cannot tell, the provider's admin API. None when the
    /// secret is not in these findings.
    pub(super) fn check_dead(&mut self, incident: &Incident) -> anyhow::Result<Option<Dead>> {
        let Some((leak, secret)) = self.secrets.get(&incident.fingerprint).cloned() else {
            return Ok(None);
        };
        self.intent(incident, "confirm")?;
        failpoint("before", "confirm");
        let mut result = verify_leak(&leak, &secret, &self.env);
        for wait in [1, 2] {
            if result.status != Status::Live {
                break;
            }
            std::thread::sleep(std::time::Duration::from_secs(wait));
            result = verify_leak(&leak, &secret, &self.env);
        }
        let mut detail = result.status.to_string();
        let mut dead = is_dead(&result);
        let mut unknowable = matches!(result.status, Status::NotSupported | Status::Skipped);
        if unknowable {
            let provider = providers::for_rule(&incident.rule_id);
            let asked = provider.as_ref().and_then(|provider| {
                let base = self
                    .env
                    .revoke_url(&incident.rule_id, provider.as_ref())
                    .ok()?;
                let context = self.revoke_context(&incident.provider, &base);
                let target = Target::of(&leak, &secret, incident.owner.as_deref());
                provider.confirm(&context, &target)
            });
            match asked {
                Some(Ok(gone)) => {
                    (dead, unknowable) = (gone, false);
                    detail = if gone {
                        "disabled or deleted (admin API)"
                    } else {
                        "enabled (admin API)"
                    }
                    .into();
                }
                Some(Err(error)) => (unknowable, detail) = (false, format!("unknown: {error}")),
                None => {}
            }
        }
        failpoint("after", "confirm");
        Ok(Some(if dead {
            self.result(incident, "confirm", true, &format!("dead: {detail}"), None)?;
            Dead::Yes(detail)
        } else if unknowable {
            self.result(incident, "confirm", true, "cannot be checked", None)?;
            Dead::Unknowable
        } else {
            self.result(incident, "confirm", false, &format!("still {detail}"), None)?;
            Dead::No(detail)
        }))
    }
}
