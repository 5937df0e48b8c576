//! The Raft replica as a sans-IO actor.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::*;
use crate::kernel::{Actor, Input, NoOperation, NodeId, Outbox};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// What a leader knows of one follower.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Progress {
    /// The next index to send.
    pub next: Index,
    /// The highest index known to match the leader's log.
    pub matched: Index,
    /// AppendEntries sent and not yet answered.
    pub inflight: u32,
    /// Answered since the last CheckQuorum round.
    pub active: bool,
    /// The highest ReadIndex round this follower confirmed.
    pub read_round: u64,
    /// Heartbeats left before a snapshot in flight may be sent again (0: none in flight).
    /// A snapshot can be large: one copy travels at a time (etcd's StateSnapshot).
    pub snapshot_wait: u32,
}

impl Progress {
    /// What a leader knows of a follower it has not heard from: send from `next` on.
    pub fn new(next: Index) -> Progress {
        Progress {
            next,
            matched: 0,
            inflight: 0,
            active: true,
            read_round: 0,
            snapshot_wait: 0,
        }
    }
}

/// A linearizable read waiting for its ReadIndex to be confirmed and applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PendingRead<Q> {
    pub round: u64,
    /// The commit index to wait for; set once the leader has committed in its term.
    pub index: Option<Index>,
    pub client: NodeId,
    pub request: RequestId,
    pub query: Q,
}

/// One Raft replica. Fields are public so tests and models can inspect (and, in
/// deliberately broken variants, mutate) the state; only `handle` changes it in production.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Raft<S: StateMachine> {
    pub config: RaftConfig,
    pub role: Role,
    pub hard: HardState,
    pub leader: Option<NodeId>,
    /// Heard from a live leader since the election timer last fired (leader stickiness).
    pub leader_contact: bool,
    pub log: RaftLog<S::Command>,
    pub snapshot: Snapshot<S>,
    pub commit: Index,
    pub applied: Index,
    pub machine: S,
    pub sessions: Sessions<S::Output>,
    /// The latest membership in the log (in force from the moment it is appended).
    pub membership: Membership,
    pub membership_index: Index,
    /// Grants received in the current (pre-)election.
    pub votes: BTreeSet<NodeId>,
    pub progress: BTreeMap<NodeId, Progress>,
    pub transfer_target: Option<NodeId>,
    pub read_round: u64,
    pub pending_reads: VecDeque<PendingRead<S::Query>>,
    /// Whom to answer when the entry at an index is applied (leader only).
    pub pending_replies: BTreeMap<Index, (NodeId, RequestId)>,
}

impl<S: StateMachine> Actor for Raft<S> {
    type Config = RaftConfig;
    type Msg = RaftMsg<S>;
    type Timer = RaftTimer;
    type Persist = RaftPersist<S>;
    type Durable = RaftDurable<S>;
    type Operation = NoOperation;
    type Completion = NoOperation;

    fn start(config: RaftConfig, durable: RaftDurable<S>, out: &mut Outbox<Self>) -> Self {
        let snapshot = durable.snapshot.unwrap_or_else(|| Snapshot {
            position: LogPosition::default(),
            membership: config.initial_membership.clone(),
            machine: S::default(),
            sessions: Sessions::new(),
        });
        let mut raft = Raft {
            role: Role::Follower,
            hard: durable.hard,
            leader: None,
            leader_contact: false,
            log: RaftLog::new(snapshot.position, durable.entries),
            commit: snapshot.position.index,
            applied: snapshot.position.index,
            machine: snapshot.machine.clone(),
            sessions: snapshot.sessions.clone(),
            membership: snapshot.membership.clone(),
            membership_index: snapshot.position.index,
            snapshot,
            votes: BTreeSet::new(),
            progress: BTreeMap::new(),
            transfer_target: None,
            read_round: 0,
            pending_reads: VecDeque::new(),
            pending_replies: BTreeMap::new(),
            config,
        };
        raft.refresh_membership();
        out.set_timer(RaftTimer::Election, raft.config.election_span);
        raft.assert_invariants();
        raft
    }

    fn handle(&mut self, input: Input<Self>, out: &mut Outbox<Self>) {
        match input {
            Input::Message { from, msg } => self.on_message(from, msg, out),
            Input::Timer(RaftTimer::Election) => self.on_election_timer(out),
            Input::Timer(RaftTimer::Heartbeat) => self.on_heartbeat_timer(out),
            Input::Completion(never) => match never {},
        }
        self.assert_invariants();
    }

    fn apply_persist(durable: &mut RaftDurable<S>, record: &RaftPersist<S>) {
        match record {
            RaftPersist::HardState(hard) => {
                assert!(
                    hard.term >= durable.hard.term,
                    "persisted term went backwards"
                );
                durable.hard = *hard;
            }
            RaftPersist::Append { first, entries } => {
                let base = durable.snapshot.as_ref().map_or(0, |s| s.position.index);
                assert!(*first > base, "append below the snapshot");
                let keep = (*first - base - 1) as usize;
                assert!(keep <= durable.entries.len(), "append leaves a gap");
                durable.entries.truncate(keep);
                durable.entries.extend_from_slice(entries);
            }
            RaftPersist::Checkpoint(image) => *durable = (**image).clone(),
        }
    }

    fn is_checkpoint(record: &RaftPersist<S>) -> bool {
        matches!(record, RaftPersist::Checkpoint(_))
    }

    fn message_kind(msg: &RaftMsg<S>) -> &'static str {
        msg.kind()
    }
}

impl<S: StateMachine> Raft<S> {
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    pub fn status(&self) -> RaftStatus {
        RaftStatus {
            id: self.id(),
            role: self.role,
            term: self.hard.term,
            leader: self.leader,
            commit: self.commit,
            applied: self.applied,
            last: self.log.last(),
            snapshot: self.log.snapshot,
            membership: self.membership.clone(),
        }
    }

    /// The durable image this replica would restart from.
    pub fn durable_image(&self) -> RaftDurable<S> {
        RaftDurable {
            hard: self.hard,
            snapshot: Some(self.snapshot.clone()),
            entries: self.log.entries.clone(),
        }
    }

    fn on_message(&mut self, from: NodeId, msg: RaftMsg<S>, out: &mut Outbox<Self>) {
        match msg {
            RaftMsg::RequestVote {
                term,
                last,
                pre_vote,
                transfer,
            } => self.on_request_vote(from, term, last, pre_vote, transfer, out),
            RaftMsg::Vote {
                term,
                pre_vote,
                granted,
            } => self.on_vote(from, term, pre_vote, granted, out),
            RaftMsg::AppendEntries {
                term,
                prev,
                entries,
                commit,
                read_round,
            } => {
                if self.accept_leader(from, term, read_round, out) {
                    self.on_append_entries(from, prev, entries, commit, read_round, out);
                }
            }
            RaftMsg::InstallSnapshot {
                term,
                snapshot,
                read_round,
            } => {
                if self.accept_leader(from, term, read_round, out) {
                    self.on_install_snapshot(from, snapshot, read_round, out);
                }
            }
            RaftMsg::AppendReply {
                term,
                outcome,
                read_round,
            } => self.on_append_reply(from, term, outcome, read_round, out),
            RaftMsg::TimeoutNow { term } => {
                let voter = self.membership.contains(self.id());
                if term == self.hard.term && self.role != Role::Leader && voter {
                    self.campaign(true, out);
                }
            }
            RaftMsg::Request { request, body } => self.on_request(from, request, body, out),
            RaftMsg::Reply { .. } => {} // replicas send replies; they never need one.
        }
    }

    // ----- elections -----

    fn on_election_timer(&mut self, out: &mut Outbox<Self>) {
        out.set_timer(RaftTimer::Election, self.config.election_span);
        if self.role == Role::Leader {
            self.check_quorum(out);
        } else if self.leader_contact {
            self.leader_contact = false;
        } else if self.membership.contains(self.id()) {
            self.pre_vote(out);
        }
    }

    /// CheckQuorum: a leader that did not hear from a quorum within an election timeout
    /// steps down, so a partitioned leader stops accepting work it can never commit.
    fn check_quorum(&mut self, out: &mut Outbox<Self>) {
        assert_eq!(self.role, Role::Leader);
        let self_counts = usize::from(self.membership.contains(self.id()));
        let active = self.progress.values().filter(|p| p.active).count() + self_counts;
        self.transfer_target = None;
        if active < self.membership.quorum() {
            tracing::info!(
                id = self.id(),
                term = self.hard.term,
                "lost quorum: stepping down"
            );
            self.become_follower(self.hard.term, None, out);
            return;
        }
        for progress in self.progress.values_mut() {
            progress.active = false;
        }
    }

    fn pre_vote(&mut self, out: &mut Outbox<Self>) {
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes = BTreeSet::from([self.id()]);
        if self.has_quorum(&self.votes) {
            return self.campaign(false, out);
        }
        let request = RaftMsg::RequestVote {
            term: self.hard.term + 1,
            last: self.log.last(),
            pre_vote: true,
            transfer: false,
        };
        self.broadcast(request, out);
    }

    fn campaign(&mut self, transfer: bool, out: &mut Outbox<Self>) {
        self.role = Role::Candidate;
        self.leader = None;
        self.hard = HardState {
            term: self.hard.term + 1,
            voted_for: Some(self.id()),
        };
        out.persist(RaftPersist::HardState(self.hard));
        self.votes = BTreeSet::from([self.id()]);
        if self.has_quorum(&self.votes) {
            return self.become_leader(out);
        }
        let request = RaftMsg::RequestVote {
            term: self.hard.term,
            last: self.log.last(),
            pre_vote: false,
            transfer,
        };
        self.broadcast(request, out);
    }

    fn on_request_vote(
        &mut self,
        from: NodeId,
        term: Term,
        last: LogPosition,
        pre_vote: bool,
        transfer: bool,
        out: &mut Outbox<Self>,
    ) {
        // Leader stickiness: while we trust a live leader, a disruptive candidate (one that
        // merely missed heartbeats) gets no vote and does not bump our term.
        let in_lease = !transfer
            && (self.role == Role::Leader || (self.leader.is_some() && self.leader_contact));
        if term > self.hard.term && in_lease {
            return;
        }
        if term < self.hard.term {
            let term = self.hard.term;
            let reply = RaftMsg::Vote {
                term,
                pre_vote,
                granted: false,
            };
            return out.send(from, reply);
        }
        if !pre_vote && term > self.hard.term {
            self.become_follower(term, None, out);
        }
        let can_vote = self.hard.voted_for == Some(from)
            || (self.hard.voted_for.is_none() && self.leader.is_none())
            || (pre_vote && term > self.hard.term);
        let up_to_date = last >= self.log.last();
        let granted = can_vote && up_to_date;
        if granted && !pre_vote {
            assert_eq!(term, self.hard.term);
            self.hard.voted_for = Some(from);
            self.leader_contact = true;
            // The vote must be durable before the reply leaves: the host orders it so.
            out.persist(RaftPersist::HardState(self.hard));
        }
        let term = if pre_vote && granted {
            term
        } else {
            self.hard.term
        };
        out.send(
            from,
            RaftMsg::Vote {
                term,
                pre_vote,
                granted,
            },
        );
    }

    fn on_vote(
        &mut self,
        from: NodeId,
        term: Term,
        pre_vote: bool,
        granted: bool,
        out: &mut Outbox<Self>,
    ) {
        if term > self.hard.term && !(pre_vote && granted) {
            return self.become_follower(term, None, out);
        }
        if !granted || !self.membership.contains(from) {
            return;
        }
        if pre_vote && self.role == Role::PreCandidate && term == self.hard.term + 1 {
            self.votes.insert(from);
            if self.has_quorum(&self.votes) {
                self.campaign(false, out);
            }
        } else if !pre_vote && self.role == Role::Candidate && term == self.hard.term {
            self.votes.insert(from);
            if self.has_quorum(&self.votes) {
                self.become_leader(out);
            }
        }
    }

    fn has_quorum(&self, ids: &BTreeSet<NodeId>) -> bool {
        let counted = ids
            .iter()
            .filter(|id| self.membership.contains(**id))
            .count();
        counted >= self.membership.quorum()
    }

    fn become_leader(&mut self, out: &mut Outbox<Self>) {
        assert_eq!(self.role, Role::Candidate);
        assert_eq!(self.hard.voted_for, Some(self.id()));
        tracing::info!(id = self.id(), term = self.hard.term, "became leader");
        self.role = Role::Leader;
        self.leader = Some(self.id());
        self.transfer_target = None;
        self.progress.clear();
        self.sync_progress();
        // A leader commits nothing of earlier terms by counting: the no-op of its own term
        // commits them (Raft §5.4.2) and unblocks ReadIndex and membership changes.
        self.append_local(Payload::Noop, out);
        out.set_timer(RaftTimer::Heartbeat, self.config.heartbeat_span);
        self.broadcast_append(out);
    }

    /// Steps down to follower in `term` (persisting the new term if it grew).
    fn become_follower(&mut self, term: Term, leader: Option<NodeId>, out: &mut Outbox<Self>) {
        assert!(term >= self.hard.term, "terms never go backwards");
        if term > self.hard.term {
            self.hard = HardState {
                term,
                voted_for: None,
            };
            out.persist(RaftPersist::HardState(self.hard));
        }
        if self.role == Role::Leader {
            out.cancel_timer(RaftTimer::Heartbeat);
            self.progress.clear();
            self.transfer_target = None;
            // Outcome unknown to the clients: they retry with the same request id, and
            // sessions make the retry apply at most once.
            self.pending_replies.clear();
            let refused = ClientReply::Refused(Refusal::NotLeader { leader });
            for read in std::mem::take(&mut self.pending_reads) {
                out.send(
                    read.client,
                    RaftMsg::Reply {
                        request: read.request,
                        body: refused.clone(),
                    },
                );
            }
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.votes.clear();
    }

    // ----- replication: follower side -----

    /// Applies the term rules to a message from a would-be leader. Returns whether to
    /// process it.
    fn accept_leader(
        &mut self,
        from: NodeId,
        term: Term,
        read_round: u64,
        out: &mut Outbox<Self>,
    ) -> bool {
        if term < self.hard.term {
            // Tell the stale leader our term, so it steps down.
            let reply = RaftMsg::AppendReply {
                term: self.hard.term,
                outcome: AppendOutcome::Conflict {
                    hint_index: 0,
                    hint_term: None,
                },
                read_round,
            };
            out.send(from, reply);
            return false;
        }
        if self.role == Role::Leader && term == self.hard.term {
            // Two leaders in one term: impossible unless Election Safety is broken.
            tracing::error!(
                id = self.id(),
                term,
                other = from,
                "two leaders in one term"
            );
            return false;
        }
        if term > self.hard.term || self.role != Role::Follower {
            self.become_follower(term, Some(from), out);
        }
        self.leader = Some(from);
        self.leader_contact = true;
        true
    }

    fn on_append_entries(
        &mut self,
        from: NodeId,
        prev: LogPosition,
        entries: Vec<Entry<S::Command>>,
        leader_commit: Index,
        read_round: u64,
        out: &mut Outbox<Self>,
    ) {
        let term = self.hard.term;
        if prev.index < self.commit {
            // Everything up to our commit index matches any leader's log (Leader
            // Completeness); answer with it and let the leader continue from there.
            let outcome = AppendOutcome::Match { index: self.commit };
            return out.send(from, append_reply(term, outcome, read_round));
        }
        if self.log.term_at(prev.index) != Some(prev.term) {
            let outcome = self.conflict_hint(prev.index);
            return out.send(from, append_reply(term, outcome, read_round));
        }
        let last_new = prev.index + entries.len() as Index;
        self.merge_entries(prev.index, entries, out);
        let commit = leader_commit.min(last_new);
        if commit > self.commit {
            self.commit = commit;
            self.apply_committed(out);
        }
        let outcome = AppendOutcome::Match { index: last_new };
        out.send(from, append_reply(term, outcome, read_round));
    }

    fn conflict_hint(&self, prev_index: Index) -> AppendOutcome {
        if prev_index > self.log.last_index() {
            return AppendOutcome::Conflict {
                hint_index: self.log.last_index() + 1,
                hint_term: None,
            };
        }
        let term = self
            .log
            .term_at(prev_index)
            .expect("prev is above our commit");
        AppendOutcome::Conflict {
            hint_index: self.log.first_index_of_term_at(prev_index),
            hint_term: Some(term),
        }
    }

    /// Appends the entries after `prev_index` that we lack, truncating a conflicting tail.
    fn merge_entries(
        &mut self,
        prev_index: Index,
        entries: Vec<Entry<S::Command>>,
        out: &mut Outbox<Self>,
    ) {
        let mut first_new = None;
        for (offset, entry) in entries.iter().enumerate() {
            let index = prev_index + 1 + offset as Index;
            match self.log.term_at(index) {
                Some(term) if term == entry.term => continue,
                Some(_) => {
                    assert!(index > self.commit, "a leader overwrote a committed entry");
                    first_new = Some((index, offset));
                    break;
                }
                None => {
                    first_new = Some((index, offset));
                    break;
                }
            }
        }
        let Some((first, offset)) = first_new else {
            return;
        };
        let new_entries = entries[offset..].to_vec();
        let truncates = first <= self.log.last_index();
        let has_membership = new_entries
            .iter()
            .any(|e| matches!(e.payload, Payload::Membership(_)));
        self.log.splice(first, &new_entries);
        out.persist(RaftPersist::Append {
            first,
            entries: new_entries,
        });
        if has_membership || (truncates && self.membership_index >= first) {
            self.refresh_membership();
        }
    }

    fn on_install_snapshot(
        &mut self,
        from: NodeId,
        snapshot: Snapshot<S>,
        read_round: u64,
        out: &mut Outbox<Self>,
    ) {
        let term = self.hard.term;
        let position = snapshot.position;
        if position.index <= self.commit {
            let outcome = AppendOutcome::Match { index: self.commit };
            return out.send(from, append_reply(term, outcome, read_round));
        }
        tracing::info!(
            id = self.id(),
            index = position.index,
            "installing snapshot"
        );
        self.log.compact_to(position);
        self.machine = snapshot.machine.clone();
        self.sessions = snapshot.sessions.clone();
        self.commit = position.index;
        self.applied = position.index;
        self.snapshot = snapshot;
        self.refresh_membership();
        out.persist(RaftPersist::Checkpoint(Box::new(self.durable_image())));
        let outcome = AppendOutcome::Match {
            index: position.index,
        };
        out.send(from, append_reply(term, outcome, read_round));
    }

    // ----- replication: leader side -----

    fn on_append_reply(
        &mut self,
        from: NodeId,
        term: Term,
        outcome: AppendOutcome,
        read_round: u64,
        out: &mut Outbox<Self>,
    ) {
        if term > self.hard.term {
            return self.become_follower(term, None, out);
        }
        if self.role != Role::Leader || term < self.hard.term {
            return;
        }
        let last_index = self.log.last_index();
        let Some(progress) = self.progress.get_mut(&from) else {
            return;
        };
        progress.active = true;
        progress.inflight = progress.inflight.saturating_sub(1);
        progress.read_round = progress.read_round.max(read_round);
        match outcome {
            AppendOutcome::Match { index } => {
                assert!(index <= last_index, "follower matched past our log");
                progress.matched = progress.matched.max(index);
                progress.next = progress.next.max(index + 1);
                if progress.matched >= self.log.snapshot.index {
                    progress.snapshot_wait = 0; // the snapshot arrived, or was not needed
                }
            }
            AppendOutcome::Conflict {
                hint_index,
                hint_term,
            } => {
                let next = match hint_term.and_then(|t| self.log.last_index_of_term(t)) {
                    Some(index) => index + 1,
                    None => hint_index,
                };
                progress.next = next.clamp(progress.matched + 1, last_index + 1);
                progress.inflight = 0;
            }
        }
        let caught_up = progress.matched == last_index;
        let more = progress.next <= last_index;
        self.maybe_commit(out);
        self.serve_reads(out);
        if self.role != Role::Leader {
            return; // committing our own removal stepped us down
        }
        if self.transfer_target == Some(from) && caught_up {
            out.send(
                from,
                RaftMsg::TimeoutNow {
                    term: self.hard.term,
                },
            );
        } else if more {
            self.send_append(from, false, out);
        }
    }

    fn on_heartbeat_timer(&mut self, out: &mut Outbox<Self>) {
        if self.role != Role::Leader {
            return; // stale timer
        }
        out.set_timer(RaftTimer::Heartbeat, self.config.heartbeat_span);
        self.broadcast_append(out);
    }

    fn broadcast_append(&mut self, out: &mut Outbox<Self>) {
        let peers: Vec<NodeId> = self.progress.keys().copied().collect();
        for peer in peers {
            self.send_append(peer, true, out);
        }
    }

    /// Sends the next batch of entries (or the snapshot) to `to`. A forced send (a
    /// heartbeat) goes out even with the pipeline full, probing from the last match.
    fn send_append(&mut self, to: NodeId, force: bool, out: &mut Outbox<Self>) {
        let term = self.hard.term;
        let read_round = self.read_round;
        let commit = self.commit;
        let inflight_max = self.config.inflight_appends_max;
        let progress = self.progress.get_mut(&to).expect("progress for every peer");
        if progress.inflight >= inflight_max {
            if !force {
                return;
            }
            progress.inflight = 0;
            progress.next = progress.matched + 1;
        }
        if progress.next <= self.log.snapshot.index {
            if progress.snapshot_wait > 0 {
                // One in flight: wait for its answer, or for a heartbeat-counted timeout.
                progress.snapshot_wait -= u32::from(force);
                return;
            }
            progress.snapshot_wait = self.config.snapshot_resend_heartbeats;
            progress.inflight += 1;
            progress.next = self.log.snapshot.index + 1;
            let snapshot = self.snapshot.clone();
            let msg = RaftMsg::InstallSnapshot {
                term,
                snapshot,
                read_round,
            };
            return out.send(to, msg);
        }
        progress.inflight += 1;
        let prev_index = progress.next - 1;
        let prev = LogPosition {
            index: prev_index,
            term: self.log.term_at(prev_index).expect("prev is in the log"),
        };
        let entries = self
            .log
            .slice(progress.next, self.config.append_entries_max);
        progress.next += entries.len() as Index;
        let msg = RaftMsg::AppendEntries {
            term,
            prev,
            entries,
            commit,
            read_round,
        };
        out.send(to, msg);
    }

    /// Commits the highest index a quorum holds, but only if it is of our own term.
    fn maybe_commit(&mut self, out: &mut Outbox<Self>) {
        let Some(candidate) = self.quorum_match_index() else {
            return;
        };
        if candidate > self.commit && self.log.term_at(candidate) == Some(self.hard.term) {
            let was_own_term = self.committed_own_term();
            self.commit = candidate;
            if !was_own_term {
                self.assign_read_indexes();
            }
            self.apply_committed(out);
        }
    }

    /// The highest index stored on a quorum of voters (leader only).
    pub fn quorum_match_index(&self) -> Option<Index> {
        let mut matched: Vec<Index> = self
            .membership
            .voters
            .keys()
            .map(|id| match id == &self.id() {
                true => self.log.last_index(),
                false => self.progress.get(id).map_or(0, |p| p.matched),
            })
            .collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        matched.get(self.membership.quorum() - 1).copied()
    }

    pub fn committed_own_term(&self) -> bool {
        self.log.term_at(self.commit) == Some(self.hard.term)
    }

    /// Appends an entry to the leader's own log.
    fn append_local(&mut self, payload: Payload<S::Command>, out: &mut Outbox<Self>) -> Index {
        assert_eq!(self.role, Role::Leader);
        let entry = Entry {
            term: self.hard.term,
            payload,
        };
        let index = self.log.last_index() + 1;
        if let Payload::Membership(membership) = &entry.payload {
            self.membership = membership.clone();
            self.membership_index = index;
            self.sync_progress();
        }
        self.log.push(entry.clone());
        out.persist(RaftPersist::Append {
            first: index,
            entries: vec![entry],
        });
        // A single voter commits on its own append.
        self.maybe_commit(out);
        index
    }

    /// Makes the follower progress table match the membership.
    fn sync_progress(&mut self) {
        let next = self.log.last_index() + 1;
        let me = self.id();
        self.progress.retain(|id, _| *id != me);
        let voters = &self.membership.voters;
        self.progress.retain(|id, _| voters.contains_key(id));
        for id in voters.keys().filter(|id| **id != me) {
            self.progress.entry(*id).or_insert(Progress::new(next));
        }
    }

    fn refresh_membership(&mut self) {
        let found = (self.log.first_index()..=self.log.last_index())
            .rev()
            .find_map(|index| match &self.log.entry(index)?.payload {
                Payload::Membership(m) => Some((index, m.clone())),
                _ => None,
            });
        let (index, membership) = found.unwrap_or_else(|| {
            (
                self.snapshot.position.index,
                self.snapshot.membership.clone(),
            )
        });
        self.membership = membership;
        self.membership_index = index;
        if self.role == Role::Leader {
            self.sync_progress();
        }
    }

    /// The membership in force at `index` (at or above the snapshot).
    fn membership_at(&self, index: Index) -> Membership {
        (self.log.first_index()..=index)
            .rev()
            .find_map(|i| match &self.log.entry(i)?.payload {
                Payload::Membership(m) => Some(m.clone()),
                _ => None,
            })
            .unwrap_or_else(|| self.snapshot.membership.clone())
    }

    // ----- applying -----

    /// Applies every committed entry not yet applied, answering waiting clients.
    pub fn apply_committed(&mut self, out: &mut Outbox<Self>) {
        assert!(
            self.commit <= self.log.last_index(),
            "commit beyond the log"
        );
        while self.applied < self.commit {
            self.applied += 1;
            let index = self.applied;
            let entry = self
                .log
                .entry(index)
                .expect("committed entry present")
                .clone();
            let waiting = self.pending_replies.remove(&index);
            match entry.payload {
                Payload::Noop => {}
                Payload::Command {
                    client,
                    request,
                    command,
                } => {
                    let output = self.apply_command(client, request, &command);
                    if let (Some(w), Some(output)) = (waiting, output) {
                        if w == (client, request) {
                            let body = ClientReply::Output(output);
                            out.send(client, RaftMsg::Reply { request, body });
                        }
                    }
                }
                Payload::Membership(membership) => {
                    if let Some((client, request)) = waiting {
                        let body = ClientReply::Done { index };
                        out.send(client, RaftMsg::Reply { request, body });
                    }
                    let removed = !membership.contains(self.id());
                    if self.role == Role::Leader && removed && index >= self.membership_index {
                        tracing::info!(id = self.id(), "removed from the cluster: stepping down");
                        self.become_follower(self.hard.term, None, out);
                    }
                }
            }
        }
        self.serve_reads(out);
        self.maybe_snapshot(out);
    }

    /// Applies a command once per (client, request); a replay gets the recorded output.
    fn apply_command(
        &mut self,
        client: ClientId,
        request: RequestId,
        command: &S::Command,
    ) -> Option<S::Output> {
        match session_lookup(&self.sessions, client, request) {
            SessionLookup::Applied(output) => return Some(output),
            SessionLookup::Forgotten => return None,
            SessionLookup::Fresh => {}
        }
        let output = self.machine.apply(command);
        let window_max = self.config.session_window_max;
        let session = self.sessions.entry(client).or_default();
        session.record(request, output.clone(), window_max);
        while self.sessions.len() > self.config.sessions_max {
            self.sessions.pop_first();
        }
        Some(output)
    }

    fn maybe_snapshot(&mut self, out: &mut Outbox<Self>) {
        let since = self.applied - self.snapshot.position.index;
        if since < self.config.snapshot_entries_threshold {
            return;
        }
        let position = LogPosition {
            index: self.applied,
            term: self
                .log
                .term_at(self.applied)
                .expect("applied entry present"),
        };
        self.snapshot = Snapshot {
            position,
            membership: self.membership_at(self.applied),
            machine: self.machine.clone(),
            sessions: self.sessions.clone(),
        };
        self.log.compact_to(position);
        out.persist(RaftPersist::Checkpoint(Box::new(self.durable_image())));
    }

    // ----- clients -----

    fn on_request(
        &mut self,
        from: NodeId,
        request: RequestId,
        body: ClientRequest<S>,
        out: &mut Outbox<Self>,
    ) {
        if let ClientRequest::Status = body {
            let body = ClientReply::Status(self.status());
            return out.send(from, RaftMsg::Reply { request, body });
        }
        if self.role != Role::Leader {
            let refusal = Refusal::NotLeader {
                leader: self.leader,
            };
            return refuse(from, request, refusal, out);
        }
        match body {
            ClientRequest::Command(command) => self.propose(from, request, command, out),
            ClientRequest::Read(query) => self.read(from, request, query, out),
            ClientRequest::ChangeMembership(change) => {
                self.change_membership(from, request, change, out)
            }
            ClientRequest::TransferLeadership { target } => {
                self.transfer_leadership(from, request, target, out)
            }
            ClientRequest::Status => unreachable!("answered above"),
        }
    }

    fn propose(
        &mut self,
        client: NodeId,
        request: RequestId,
        command: S::Command,
        out: &mut Outbox<Self>,
    ) {
        match session_lookup(&self.sessions, client, request) {
            SessionLookup::Applied(output) => {
                let body = ClientReply::Output(output);
                return out.send(client, RaftMsg::Reply { request, body });
            }
            SessionLookup::Forgotten => {
                let reason = format!("request {request} is older than the session window");
                return refuse(client, request, Refusal::Invalid { reason }, out);
            }
            SessionLookup::Fresh => {}
        }
        if self
            .pending_replies
            .values()
            .any(|w| *w == (client, request))
        {
            return; // a duplicate of a proposal in flight
        }
        if self.transfer_target.is_some() {
            let reason = "leadership transfer in progress".to_string();
            return refuse(client, request, Refusal::Busy { reason }, out);
        }
        if self.log.last_index() - self.commit >= self.config.uncommitted_entries_max {
            let reason = "too many uncommitted entries".to_string();
            return refuse(client, request, Refusal::Busy { reason }, out);
        }
        let payload = Payload::Command {
            client,
            request,
            command,
        };
        let index = self.log.last_index() + 1;
        self.pending_replies.insert(index, (client, request));
        self.append_local(payload, out);
        if self.role == Role::Leader {
            for peer in self.progress.keys().copied().collect::<Vec<_>>() {
                self.send_append(peer, false, out);
            }
        }
    }

    fn read(
        &mut self,
        client: NodeId,
        request: RequestId,
        query: S::Query,
        out: &mut Outbox<Self>,
    ) {
        if self.pending_reads.len() >= self.config.pending_reads_max {
            let reason = "too many pending reads".to_string();
            return refuse(client, request, Refusal::Busy { reason }, out);
        }
        self.read_round += 1;
        let index = self.committed_own_term().then_some(self.commit);
        self.pending_reads.push_back(PendingRead {
            round: self.read_round,
            index,
            client,
            request,
            query,
        });
        self.serve_reads(out);
        if !self.pending_reads.is_empty() {
            self.broadcast_append(out);
        }
    }

    /// The first commit of our term fixes the ReadIndex of reads that arrived before it.
    fn assign_read_indexes(&mut self) {
        let commit = self.commit;
        for read in self.pending_reads.iter_mut() {
            read.index.get_or_insert(commit);
        }
    }

    /// Answers, in order, the reads whose round a quorum confirmed and whose index applied.
    fn serve_reads(&mut self, out: &mut Outbox<Self>) {
        while let Some(read) = self.pending_reads.front() {
            let confirmed: BTreeSet<NodeId> = self
                .progress
                .iter()
                .filter(|(_, p)| p.read_round >= read.round)
                .map(|(id, _)| *id)
                .chain([self.id()])
                .collect();
            let ready = read.index.is_some_and(|index| index <= self.applied);
            if !ready || !self.has_quorum(&confirmed) {
                return;
            }
            let read = self.pending_reads.pop_front().expect("front exists");
            let body = ClientReply::Output(self.machine.query(&read.query));
            out.send(
                read.client,
                RaftMsg::Reply {
                    request: read.request,
                    body,
                },
            );
        }
    }

    fn change_membership(
        &mut self,
        client: NodeId,
        request: RequestId,
        change: MembershipChange,
        out: &mut Outbox<Self>,
    ) {
        // Single-server changes are safe only one at a time, and only after the leader has
        // committed an entry of its own term (Ongaro's 2015 fix to the dissertation).
        if !self.committed_own_term() {
            let reason = "no entry of the leader's term has committed yet".to_string();
            return refuse(client, request, Refusal::Busy { reason }, out);
        }
        if self.membership_index > self.commit {
            let reason = "a membership change is in progress".to_string();
            return refuse(client, request, Refusal::Busy { reason }, out);
        }
        let mut next = self.membership.clone();
        let valid = match change {
            MembershipChange::AddVoter { id, address } => next.voters.insert(id, address).is_none(),
            MembershipChange::RemoveVoter { id } => {
                next.voters.remove(&id).is_some() && !next.voters.is_empty()
            }
        };
        if !valid {
            let reason = "the change adds a present voter or removes an absent or last one";
            let reason = reason.to_string();
            return refuse(client, request, Refusal::Invalid { reason }, out);
        }
        let index = self.log.last_index() + 1;
        self.pending_replies.insert(index, (client, request));
        self.append_local(Payload::Membership(next), out);
        if self.role == Role::Leader {
            self.broadcast_append(out);
        }
    }

    fn transfer_leadership(
        &mut self,
        client: NodeId,
        request: RequestId,
        target: NodeId,
        out: &mut Outbox<Self>,
    ) {
        let index = self.log.last_index();
        if target == self.id() {
            let body = ClientReply::Done { index };
            return out.send(client, RaftMsg::Reply { request, body });
        }
        let Some(progress) = self.progress.get(&target) else {
            let reason = format!("{target} is not a voter");
            return refuse(client, request, Refusal::Invalid { reason }, out);
        };
        self.transfer_target = Some(target);
        if progress.matched == index {
            let term = self.hard.term;
            out.send(target, RaftMsg::TimeoutNow { term });
        } else {
            self.send_append(target, true, out);
        }
        let body = ClientReply::Done { index };
        out.send(client, RaftMsg::Reply { request, body });
    }

    fn broadcast(&self, msg: RaftMsg<S>, out: &mut Outbox<Self>) {
        for id in self.membership.voters.keys().filter(|id| **id != self.id()) {
            out.send(*id, msg.clone());
        }
    }

    fn assert_invariants(&self) {
        assert!(self.applied <= self.commit, "applied past commit");
        assert!(self.commit <= self.log.last_index(), "commit past the log");
        assert!(
            self.snapshot.position == self.log.snapshot,
            "snapshot out of sync"
        );
        assert!(
            self.applied >= self.log.snapshot.index,
            "applied below the snapshot"
        );
        if self.role == Role::Leader {
            assert_eq!(self.leader, Some(self.id()), "a leader knows it leads");
            assert_eq!(
                self.hard.voted_for,
                Some(self.id()),
                "a leader voted for itself"
            );
            assert!(!self.progress.contains_key(&self.id()));
        } else {
            assert!(self.progress.is_empty(), "only leaders track progress");
            assert!(self.pending_reads.is_empty(), "only leaders hold reads");
        }
    }
}

fn append_reply<S: StateMachine>(
    term: Term,
    outcome: AppendOutcome,
    read_round: u64,
) -> RaftMsg<S> {
    RaftMsg::AppendReply {
        term,
        outcome,
        read_round,
    }
}

fn refuse<S: StateMachine>(
    to: NodeId,
    request: RequestId,
    refusal: Refusal,
    out: &mut Outbox<Raft<S>>,
) {
    let body = ClientReply::Refused(refusal);
    out.send(to, RaftMsg::Reply { request, body });
}
