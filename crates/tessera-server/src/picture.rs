//! The picture of a session's refresh tokens, as operators read it: each token numbered in issue
//! order with its parent, when it was minted, when the client was seen to move past it and by the
//! use of which token, the uses of each token, and for a theft the replay that was judged so,
//! against the grace window. The admin page draws it (`admin/timeline.rs`); `tessera sessions
//! show --tokens` and `tessera thefts list --json` print it as JSON.

use serde::Serialize;
use tessera_core::duration_micros;
use tessera_core::{human_duration, token_number, TheftKind, TheftReport, Timestamp, TokenTrace};

/// How many characters of a token's `H(H(t))` name it: enough to tell tokens apart, short
/// enough to read.
const SHORT_ID: usize = 12;

/// One token in the picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PictureToken {
    /// 1 for the session's first token, in issue order.
    pub number: usize,
    /// The start of its `H(H(t))`.
    pub id: String,
    /// The number of the token refreshed to obtain it.
    pub parent: Option<usize>,
    /// When it was minted (µs since the epoch in JSON, as every time here).
    #[serde(with = "tessera_core::time::micros")]
    pub issued_at_us: Timestamp,
    /// Since when the client is known to have moved past it.
    #[serde(with = "tessera_core::time::optional_micros")]
    pub dead_since_us: Option<Timestamp>,
    /// The token whose use showed that.
    pub killed_by: Option<usize>,
    /// When it was used, as far as the store shows: each refresh with it (its children's minting)
    /// and each use that marked another token dead.
    #[serde(serialize_with = "micros_list")]
    pub uses_us: Vec<Timestamp>,
}

/// The theft a picture shows, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PictureTheft {
    /// The token that came back.
    pub token: usize,
    /// How (`refresh`, `access_token`, `missing_device_proof`).
    pub kind: &'static str,
    /// When.
    #[serde(with = "tessera_core::time::micros")]
    pub detected_at_us: Timestamp,
    /// The grace window in force, in microseconds.
    pub grace_us: i64,
    /// How long the token had been dead, in words.
    pub dead_for: Option<String>,
    /// Whether the session was revoked.
    pub revoked: bool,
}

impl PictureTheft {
    /// The grace window in force.
    pub fn grace(&self) -> std::time::Duration {
        std::time::Duration::from_micros(u64::try_from(self.grace_us).unwrap_or(0))
    }
}

/// A session's tokens over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionPicture {
    /// The tokens, by number.
    pub tokens: Vec<PictureToken>,
    /// The left end of the time axis: the first token's minting.
    #[serde(with = "tessera_core::time::micros")]
    pub start_us: Timestamp,
    /// The right end: now for a live session, the detection for a theft.
    #[serde(with = "tessera_core::time::micros")]
    pub end_us: Timestamp,
    /// The replay judged theft.
    pub theft: Option<PictureTheft>,
    /// What happened, in one sentence (for a theft).
    pub explanation: Option<String>,
}

impl SessionPicture {
    /// A live session's picture at `now`; `tokens` in issue order.
    pub fn live(tokens: &[TokenTrace], now_us: Timestamp) -> Self {
        let tokens = picture_tokens(tokens);
        Self {
            start_us: tokens.first().map_or(now_us, |t| t.issued_at_us),
            end_us: now_us,
            tokens,
            theft: None,
            explanation: None,
        }
    }

    /// The picture kept with a theft report: the session's tokens when the theft was detected.
    pub fn of_theft(report: &TheftReport) -> Self {
        let tokens = picture_tokens(&report.tokens);
        let theft =
            token_number(&report.tokens, &report.presented_hash2).map(|token| PictureTheft {
                token,
                kind: report.kind.as_str(),
                detected_at_us: report.detected_at,
                grace_us: duration_micros(report.grace),
                dead_for: report.dead_for().map(human_duration),
                revoked: report.revoked,
            });
        Self {
            start_us: tokens
                .first()
                .map_or(report.detected_at, |t| t.issued_at_us),
            end_us: report.detected_at,
            tokens,
            theft,
            explanation: Some(report.explanation()),
        }
    }

    /// The token with this number.
    pub fn token(&self, number: usize) -> Option<&PictureToken> {
        number
            .checked_sub(1)
            .and_then(|index| self.tokens.get(index))
    }

    /// How the token judged stolen came back, if the picture shows a theft.
    pub fn theft_kind(&self) -> Option<TheftKind> {
        self.theft.as_ref().and_then(|t| TheftKind::parse(t.kind))
    }
}

fn micros_list<S: serde::Serializer>(
    times: &[Timestamp],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(times.iter().map(|at| at.as_micros()))
}

fn picture_tokens(traces: &[TokenTrace]) -> Vec<PictureToken> {
    let number = |hash2: &str| token_number(traces, hash2);
    traces
        .iter()
        .enumerate()
        .map(|(index, trace)| {
            let mut uses: Vec<Timestamp> = traces
                .iter()
                .filter(|other| other.parent.as_deref() == Some(trace.hash2.as_str()))
                .map(|child| child.issued_at)
                .chain(
                    traces
                        .iter()
                        .filter(|other| other.killed_by.as_deref() == Some(trace.hash2.as_str()))
                        .filter_map(|killed| killed.dead_since),
                )
                .collect();
            uses.sort_unstable();
            uses.dedup();
            PictureToken {
                number: index + 1,
                id: trace.hash2.chars().take(SHORT_ID).collect(),
                parent: trace.parent.as_deref().and_then(number),
                issued_at_us: trace.issued_at,
                dead_since_us: trace.dead_since,
                killed_by: trace.killed_by.as_deref().and_then(number),
                uses_us: uses,
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `secs` seconds after the epoch.
    pub(crate) fn s(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    pub(crate) fn trace(
        hash2: &str,
        parent: Option<&str>,
        issued_s: i64,
        dead: Option<(i64, &str)>,
    ) -> TokenTrace {
        TokenTrace {
            hash2: hash2.into(),
            parent: parent.map(str::to_owned),
            issued_at: s(issued_s),
            dead_since: dead.map(|(at, _)| s(at)),
            killed_by: dead.map(|(_, by)| by.to_owned()),
        }
    }

    /// Two tabs refresh the first token at once (two children), one tab's child is used; then a
    /// copy of the other child comes back long after: the picture numbers and links them.
    pub(crate) fn theft_after_parallel_tabs() -> TheftReport {
        let tokens = vec![
            trace("aaaa", None, 0, Some((12, "cccc"))),
            trace("bbbb", Some("aaaa"), 10, Some((50, "dddd"))),
            trace("cccc", Some("aaaa"), 11, Some((50, "dddd"))),
            trace("dddd", Some("cccc"), 20, None),
        ];
        TheftReport {
            id: 7,
            session_handle: "s".into(),
            user_id: "u".into(),
            tenant_id: "public".into(),
            session_created_at: Timestamp::EPOCH,
            detected_at: s(91),
            kind: TheftKind::Refresh,
            presented_hash2: "bbbb".into(),
            dead_since: Some(s(50)),
            grace: std::time::Duration::from_secs(30),
            newest_hash2: Some("dddd".into()),
            newest_issued_at: Some(s(20)),
            revoked: true,
            tokens,
        }
    }

    #[test]
    fn a_theft_picture_numbers_links_and_dates_every_token() {
        let picture = SessionPicture::of_theft(&theft_after_parallel_tabs());
        let links: Vec<(usize, Option<usize>, Option<usize>)> = picture
            .tokens
            .iter()
            .map(|t| (t.number, t.parent, t.killed_by))
            .collect();
        assert_eq!(
            links,
            [
                (1, None, Some(3)),
                (2, Some(1), Some(4)),
                (3, Some(1), Some(4)),
                (4, Some(3), None)
            ]
        );
        // Token 1 was used twice (two tabs refreshing it); token 3 once to refresh, and its
        // child's use is token 4's (which killed 2 and 3 at 50 s).
        assert_eq!(picture.tokens[0].uses_us, [s(10), s(11)]);
        assert_eq!(picture.tokens[2].uses_us, [s(12), s(20)]);
        assert_eq!(picture.tokens[3].uses_us, [s(50)]);
        assert_eq!((picture.start_us, picture.end_us), (s(0), s(91)));
        let theft = picture.theft.as_ref().expect("a theft");
        assert_eq!((theft.token, theft.kind), (2, "refresh"));
        assert_eq!(theft.dead_for.as_deref(), Some("41 s"));
        assert_eq!(picture.theft_kind(), Some(TheftKind::Refresh));
        assert!(picture.explanation.as_deref().is_some_and(|s| s
            .starts_with("Token 2 was presented by a refresh 41 s after token 4 had been used")));
    }

    #[test]
    fn a_live_picture_ends_now_and_names_tokens_briefly() {
        let tokens = vec![trace(&"f".repeat(64), None, 5, None)];
        let picture = SessionPicture::live(&tokens, s(9));
        assert_eq!((picture.start_us, picture.end_us), (s(5), s(9)));
        assert_eq!(picture.tokens[0].id, "f".repeat(12));
        assert!(picture.theft.is_none() && picture.explanation.is_none());
        assert_eq!(picture.token(1).map(|t| t.number), Some(1));
        assert!(picture.token(0).is_none() && picture.token(2).is_none());
    }
}
