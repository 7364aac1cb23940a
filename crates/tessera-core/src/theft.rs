//! What is kept about a detected theft, and the picture of a session's refresh tokens that
//! explains it: which token came back, how, how long after the client had moved past it, and the
//! grace window that was in force. A store writes a [`TheftReport`] in the transaction that
//! detected the theft (so it survives the revocation it causes) and keeps it for the retention
//! period ([`SessionConfig::theft_report_retention`](crate::SessionConfig)).

use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::time::Timestamp;

/// How the token judged stolen was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TheftKind {
    /// A refresh carried a refresh token the client had moved past.
    Refresh,
    /// The first use of an access token minted with a refresh token the client had moved past.
    AccessToken,
    /// A refresh of a device-bound session without its device's proof: only a copy refreshes so.
    MissingDeviceProof,
}

impl TheftKind {
    /// The name stored and shown (`refresh`, `access_token`, `missing_device_proof`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refresh => "refresh",
            Self::AccessToken => "access_token",
            Self::MissingDeviceProof => "missing_device_proof",
        }
    }

    /// The kind stored under this name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "refresh" => Some(Self::Refresh),
            "access_token" => Some(Self::AccessToken),
            "missing_device_proof" => Some(Self::MissingDeviceProof),
            _ => None,
        }
    }

    /// The kind as a table shows it: `refresh`, `first use of an access token`, `refresh
    /// without the device's proof`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Refresh => "refresh",
            Self::AccessToken => "first use of an access token",
            Self::MissingDeviceProof => "refresh without the device's proof",
        }
    }

    /// How the presentation reads in a sentence: "presented by a refresh".
    fn presented_by(self) -> &'static str {
        match self {
            Self::Refresh => "by a refresh",
            Self::AccessToken => "by the first use of an access token minted with it",
            Self::MissingDeviceProof => "by a refresh without the proof of the session's device",
        }
    }
}

/// One refresh token of a session, as far as its picture needs: never the token, only the double
/// hash the store keys it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTrace {
    /// `H(H(token))`.
    pub hash2: String,
    /// `hash2` of the token presented to obtain it; `None` for the session's first token.
    pub parent: Option<String>,
    /// When it was minted (microseconds in JSON, as kept with theft reports).
    #[serde(with = "crate::time::micros")]
    pub issued_at: Timestamp,
    /// Since when the client is known to have moved past it.
    #[serde(with = "crate::time::optional_micros")]
    pub dead_since: Option<Timestamp>,
    /// The token whose use showed that (unknown for tokens that died before this was recorded).
    pub killed_by: Option<String>,
}

/// A detected theft, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TheftReport {
    /// Position in the store's list of reports (assigned when stored; 0 before).
    pub id: i64,
    /// The robbed session.
    pub session_handle: String,
    /// Its user.
    pub user_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// When the session was created.
    pub session_created_at: Timestamp,
    /// When the theft was detected (the presentation's time).
    pub detected_at: Timestamp,
    /// How the token came back.
    pub kind: TheftKind,
    /// `hash2` of the token that came back.
    pub presented_hash2: String,
    /// Since when that token had been dead; `None` for a missing device proof on a live token.
    pub dead_since: Option<Timestamp>,
    /// The grace window in force.
    pub grace: Duration,
    /// The newest token of the session that did not descend from the presented one: where the
    /// other copy of the session had got to.
    pub newest_hash2: Option<String>,
    /// When that token was minted.
    pub newest_issued_at: Option<Timestamp>,
    /// Whether the session was revoked for it.
    pub revoked: bool,
    /// Every refresh token the session had at that moment, oldest first.
    pub tokens: Vec<TokenTrace>,
}

/// Which theft reports to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TheftQuery {
    /// Only this user's.
    pub user_id: Option<String>,
    /// Only this session's.
    pub session_handle: Option<String>,
    /// Only reports before this one (by id), for paging; `None` from the newest.
    pub before_id: Option<i64>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// Tokens in the order their picture numbers them: by minting time; for tokens minted in the
/// same microsecond (possible across servers, or with a test clock), parents before children,
/// then by hash.
pub fn in_issue_order(tokens: &mut [TokenTrace]) {
    let depth = |hash2: &str| {
        let mut depth = 0_usize;
        let mut current = hash2.to_owned();
        // Bounded by the number of tokens, so rows with a cycle cannot loop.
        while depth < tokens.len() {
            let Some(parent) = tokens
                .iter()
                .find(|token| token.hash2 == current)
                .and_then(|token| token.parent.clone())
            else {
                break;
            };
            depth += 1;
            current = parent;
        }
        depth
    };
    let mut keyed: Vec<(Timestamp, usize, TokenTrace)> = tokens
        .iter()
        .map(|token| (token.issued_at, depth(&token.hash2), token.clone()))
        .collect();
    keyed.sort_by(|a, b| (a.0, a.1, &a.2.hash2).cmp(&(b.0, b.1, &b.2.hash2)));
    for (slot, (_, _, token)) in tokens.iter_mut().zip(keyed) {
        *slot = token;
    }
}

/// The number of `hash2` in the picture (1 for the session's first token), among `tokens` in
/// issue order.
pub fn token_number(tokens: &[TokenTrace], hash2: &str) -> Option<usize> {
    tokens
        .iter()
        .position(|token| token.hash2 == hash2)
        .map(|index| index + 1)
}

impl TheftReport {
    /// How long the presented token had been dead when it came back.
    pub fn dead_for(&self) -> Option<Duration> {
        self.dead_since.map(|dead| self.detected_at.since(dead))
    }

    /// The one sentence an operator reads: which token came back, how, how long after which use
    /// of which token, against which grace window, and what happened to the session.
    pub fn explanation(&self) -> String {
        let number = |hash2: &str| {
            token_number(&self.tokens, hash2).map_or_else(|| "?".to_owned(), |n| n.to_string())
        };
        let presented = number(&self.presented_hash2);
        let outcome = if self.revoked {
            "so the session was revoked as stolen"
        } else {
            "so it was reported as theft (revocation on theft is off)"
        };
        let newest = match (&self.newest_hash2, self.newest_issued_at) {
            (Some(hash2), Some(issued_at)) => format!(
                " The other copy had reached token {}, minted {} earlier.",
                number(hash2),
                human_duration(self.detected_at.since(issued_at))
            ),
            _ => String::new(),
        };
        let by = self.kind.presented_by();
        match self.kind {
            TheftKind::MissingDeviceProof => format!(
                "Token {presented} was presented {by}; the device always refreshes through its key, {outcome}.{newest}"
            ),
            TheftKind::Refresh | TheftKind::AccessToken => {
                let dead_for = self
                    .dead_for()
                    .map_or_else(|| "some time".to_owned(), human_duration);
                let since = self
                    .tokens
                    .iter()
                    .find(|token| token.hash2 == self.presented_hash2)
                    .and_then(|token| token.killed_by.as_deref())
                    .map_or_else(
                        || "after the client had moved past it".to_owned(),
                        |killer| format!("after token {} had been used", number(killer)),
                    );
                format!(
                    "Token {presented} was presented {by} {dead_for} {since}; the grace window is {}, {outcome}.{newest}",
                    human_duration(self.grace)
                )
            }
        }
    }
}

/// A duration as people read it: `0 s`, `420 µs`, `350 ms`, `41 s`, `3 min 5 s`, `2 h 4 min`,
/// `3 d 2 h`.
pub fn human_duration(duration: Duration) -> String {
    let us = crate::time::duration_micros(duration);
    if us == 0 {
        return "0 s".to_owned();
    }
    if us < 1000 {
        return format!("{us} µs");
    }
    let ms = us / 1000;
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let seconds = ms / 1000;
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400);
    if seconds < 10 {
        format!("{}.{} s", seconds, (ms % 1000) / 100)
    } else if minutes == 0 {
        format!("{seconds} s")
    } else if hours == 0 {
        with_remainder(minutes, "min", seconds % 60, "s")
    } else if days == 0 {
        with_remainder(hours, "h", minutes % 60, "min")
    } else {
        with_remainder(days, "d", hours % 24, "h")
    }
}

fn with_remainder(whole: i64, unit: &str, rest: i64, rest_unit: &str) -> String {
    if rest == 0 {
        format!("{whole} {unit}")
    } else {
        format!("{whole} {unit} {rest} {rest_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(hash2: &str, parent: Option<&str>, issued_s: i64) -> TokenTrace {
        TokenTrace {
            hash2: hash2.into(),
            parent: parent.map(str::to_owned),
            issued_at: Timestamp::from_secs(issued_s),
            dead_since: None,
            killed_by: None,
        }
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(Duration::ZERO), "0 s");
        assert_eq!(human_duration(Duration::from_micros(420)), "420 µs");
        assert_eq!(human_duration(Duration::from_micros(350_000)), "350 ms");
        assert_eq!(human_duration(Duration::from_micros(1_250_000)), "1.2 s");
        assert_eq!(human_duration(Duration::from_micros(41_000_000)), "41 s");
        assert_eq!(
            human_duration(Duration::from_micros(185_000_000)),
            "3 min 5 s"
        );
        assert_eq!(human_duration(Duration::from_micros(180_000_000)), "3 min");
        assert_eq!(
            human_duration(Duration::from_micros(7_440_000_000)),
            "2 h 4 min"
        );
        assert_eq!(
            human_duration(Duration::from_micros(266_400_000_000)),
            "3 d 2 h"
        );
    }

    #[test]
    fn the_sentence_names_the_tokens_by_their_number() {
        let mut dead = trace("b", Some("a"), 100);
        dead.dead_since = Some(Timestamp::from_secs(200));
        dead.killed_by = Some("c".into());
        let report = TheftReport {
            id: 1,
            session_handle: "s".into(),
            user_id: "u".into(),
            tenant_id: "public".into(),
            session_created_at: Timestamp::EPOCH,
            detected_at: Timestamp::from_secs(241),
            kind: TheftKind::Refresh,
            presented_hash2: "b".into(),
            dead_since: dead.dead_since,
            grace: Duration::from_secs(30),
            newest_hash2: Some("c".into()),
            newest_issued_at: Some(Timestamp::from_secs(199)),
            revoked: true,
            tokens: vec![trace("a", None, 0), dead, trace("c", Some("b"), 199)],
        };
        assert_eq!(report.dead_for(), Some(Duration::from_secs(41)));
        assert_eq!(
            report.explanation(),
            "Token 2 was presented by a refresh 41 s after token 3 had been used; the grace \
             window is 30 s, so the session was revoked as stolen. The other copy had reached \
             token 3, minted 42 s earlier."
        );
        let device = TheftReport {
            kind: TheftKind::MissingDeviceProof,
            dead_since: None,
            revoked: false,
            ..report
        };
        assert!(device.explanation().starts_with(
            "Token 2 was presented by a refresh without the proof of the session's device"
        ));
        assert!(device.explanation().contains("revocation on theft is off"));
    }

    #[test]
    fn tokens_of_one_instant_are_numbered_parents_first() {
        let mut tokens = vec![
            trace("a-grandchild", Some("z-child"), 5),
            trace("z-child", Some("m-root"), 5),
            trace("m-root", None, 5),
            trace("b-later", Some("a-grandchild"), 6),
        ];
        in_issue_order(&mut tokens);
        let order: Vec<&str> = tokens.iter().map(|t| t.hash2.as_str()).collect();
        assert_eq!(order, ["m-root", "z-child", "a-grandchild", "b-later"]);
        assert_eq!(token_number(&tokens, "a-grandchild"), Some(3));
        assert_eq!(token_number(&tokens, "none"), None);
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [
            TheftKind::Refresh,
            TheftKind::AccessToken,
            TheftKind::MissingDeviceProof,
        ] {
            assert_eq!(TheftKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TheftKind::parse("other"), None);
    }
}
