//! A session's picture drawn as an SVG timeline, on the server (the admin page runs no
//! JavaScript): one row per refresh token, a bar from its minting to the moment the client was
//! seen to move past it, dots for its uses, parent → child edges, the grace window of the token
//! judged stolen and the replay that was judged so.
//!
//! Sessions last days and their events can be milliseconds apart, so the time axis is not linear:
//! each gap between consecutive events gets a width that grows with the logarithm of its length.
//! Order is kept, long quiet stretches do not squeeze the busy moments into one pixel, and the
//! axis labels say the real times.

use std::fmt::Write as _;

use std::time::Duration;

use tessera_core::{human_duration, Timestamp};

use crate::picture::SessionPicture;

const WIDTH: f64 = 760.0;
const LABEL_WIDTH: f64 = 96.0;
const RIGHT_MARGIN: f64 = 24.0;
const TOP: f64 = 12.0;
const ROW: f64 = 28.0;
const AXIS: f64 = 34.0;
/// Axis labels closer than this to the previous one are left out.
const MIN_LABEL_GAP: f64 = 64.0;

/// Where everything goes, before it becomes SVG (what the tests look at).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub height: f64,
    pub rows: Vec<RowLayout>,
    /// Parent → child edges: x, and the parent's and the child's row centres.
    pub edges: Vec<Edge>,
    /// The grace window of the token judged stolen: its row, and x from its death to the window's
    /// end.
    pub grace: Option<Span>,
    /// The replay judged theft.
    pub replay: Option<Point>,
    pub ticks: Vec<Tick>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowLayout {
    pub number: usize,
    pub id: String,
    pub y: f64,
    pub minted_x: f64,
    /// Where the bar ends: the token's death, or the end of the axis.
    pub bar_end_x: f64,
    pub dead_x: Option<f64>,
    pub killed_by: Option<usize>,
    pub uses_x: Vec<f64>,
    pub minted_at: String,
    pub dead_after: Option<String>,
    pub stolen: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub x: f64,
    pub from_y: f64,
    pub to_y: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub y: f64,
    pub from_x: f64,
    pub to_x: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub x: f64,
    pub label: Option<String>,
}

/// The time axis: event times and their x positions, interpolated linearly between them.
struct Scale {
    stops: Vec<(Timestamp, f64)>,
}

impl Scale {
    fn new(mut times: Vec<Timestamp>, from_x: f64, to_x: f64) -> Self {
        times.sort_unstable();
        times.dedup();
        if times.len() < 2 {
            let at = times.first().copied().unwrap_or(Timestamp::EPOCH);
            return Self {
                stops: vec![(at, from_x), (at + Duration::from_micros(1), to_x)],
            };
        }
        // A gap of g ms gets 1 + log10(1 + g / 100) units: 0.1 s ≈ 1.3, 41 s ≈ 3.6, a day ≈ 6.9.
        let weights: Vec<f64> = times
            .windows(2)
            .map(|pair| {
                let gap_ms = pair[1].since(pair[0]).as_secs_f64() * 1000.0;
                1.0 + (1.0 + gap_ms / 100.0).log10()
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let mut x = from_x;
        let mut stops = vec![(times[0], x)];
        for (time, weight) in times.iter().skip(1).zip(weights) {
            x += weight / total * (to_x - from_x);
            stops.push((*time, x));
        }
        Self { stops }
    }

    fn x(&self, at: Timestamp) -> f64 {
        let (first, last) = match (self.stops.first(), self.stops.last()) {
            (Some(first), Some(last)) => (*first, *last),
            _ => return 0.0,
        };
        if at <= first.0 {
            return first.1;
        }
        if at >= last.0 {
            return last.1;
        }
        for pair in self.stops.windows(2) {
            let ((t0, x0), (t1, x1)) = (pair[0], pair[1]);
            if at <= t1 {
                let fraction = at.since(t0).as_secs_f64()
                    / t1.since(t0).max(Duration::from_micros(1)).as_secs_f64();
                return x0 + fraction * (x1 - x0);
            }
        }
        last.1
    }
}

/// Lays a picture out.
pub fn layout(picture: &SessionPicture) -> Layout {
    let grace_end = picture.theft.as_ref().and_then(|theft| {
        let dead = picture.token(theft.token)?.dead_since_us?;
        Some(dead + theft.grace())
    });
    let mut times = vec![picture.start_us, picture.end_us];
    for token in &picture.tokens {
        times.push(token.issued_at_us);
        times.extend(token.dead_since_us);
        times.extend(&token.uses_us);
    }
    times.extend(grace_end.filter(|end| *end < picture.end_us));
    let scale = Scale::new(times.clone(), LABEL_WIDTH, WIDTH - RIGHT_MARGIN);
    let row_y = |number: usize| TOP + (number as f64 - 0.5) * ROW;
    let stolen = picture.theft.as_ref().map(|theft| theft.token);
    let rows: Vec<RowLayout> = picture
        .tokens
        .iter()
        .map(|token| RowLayout {
            number: token.number,
            id: token.id.clone(),
            y: row_y(token.number),
            minted_x: scale.x(token.issued_at_us),
            bar_end_x: scale.x(token.dead_since_us.unwrap_or(picture.end_us)),
            dead_x: token.dead_since_us.map(|dead| scale.x(dead)),
            killed_by: token.killed_by,
            uses_x: token.uses_us.iter().map(|at| scale.x(*at)).collect(),
            minted_at: offset(picture.start_us, token.issued_at_us),
            dead_after: token
                .dead_since_us
                .map(|dead| human_duration(dead.since(token.issued_at_us))),
            stolen: stolen == Some(token.number),
        })
        .collect();
    let edges = picture
        .tokens
        .iter()
        .filter_map(|token| {
            let parent = token.parent?;
            Some(Edge {
                x: scale.x(token.issued_at_us),
                from_y: row_y(parent),
                to_y: row_y(token.number),
            })
        })
        .collect();
    let grace = picture.theft.as_ref().and_then(|theft| {
        let dead = picture.token(theft.token)?.dead_since_us?;
        Some(Span {
            y: row_y(theft.token),
            from_x: scale.x(dead),
            to_x: scale.x((dead + theft.grace()).min(picture.end_us)),
        })
    });
    let replay = picture.theft.as_ref().map(|theft| Point {
        x: scale.x(theft.detected_at_us),
        y: row_y(theft.token),
    });
    times.sort_unstable();
    times.dedup();
    let mut ticks = Vec::with_capacity(times.len());
    let mut last_label: Option<(f64, String)> = None;
    for at in times {
        let x = scale.x(at);
        let text = offset(picture.start_us, at);
        // A label goes where there is room for it and it says something the last one did not.
        let labelled = last_label
            .as_ref()
            .is_none_or(|(last_x, last_text)| x - last_x >= MIN_LABEL_GAP && *last_text != text);
        if labelled {
            last_label = Some((x, text.clone()));
        }
        ticks.push(Tick {
            x,
            label: labelled.then_some(text),
        });
    }
    Layout {
        height: TOP + picture.tokens.len() as f64 * ROW + AXIS,
        rows,
        edges,
        grace,
        replay,
        ticks,
    }
}

/// `+41 s` after the start (`0` at it).
fn offset(start: Timestamp, at: Timestamp) -> String {
    if at <= start {
        "0".to_owned()
    } else {
        format!("+{}", human_duration(at.since(start)))
    }
}

/// The SVG element, with a title and description for screen readers. Every text in it is made
/// here from numbers, hex ids and fixed words, and escaped anyway.
pub fn svg(picture: &SessionPicture, title: &str) -> String {
    let layout = layout(picture);
    let mut out = String::new();
    let axis_y = layout.height - AXIS + 8.0;
    let _ = write!(
        out,
        r#"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {h}" width="{WIDTH}" height="{h}" role="img" aria-labelledby="timeline-title timeline-desc"><title id="timeline-title">{t}</title><desc id="timeline-desc">{d}</desc>"#,
        h = layout.height,
        t = escape(title),
        d = escape(picture.explanation.as_deref().unwrap_or(
            "Each row is one refresh token; the bar runs from its minting until the client was seen to move past it."
        )),
    );
    for tick in &layout.ticks {
        let _ = write!(
            out,
            r#"<line class="tick" x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{axis_y:.1}"/>"#,
            x = tick.x
        );
        if let Some(label) = &tick.label {
            let _ = write!(
                out,
                r#"<text class="axis" x="{x:.1}" y="{y:.1}" text-anchor="middle">{l}</text>"#,
                x = tick.x,
                y = axis_y + 14.0,
                l = escape(label)
            );
        }
    }
    if let Some(grace) = layout.grace {
        let _ = write!(
            out,
            r#"<rect class="grace" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{hgt:.1}"><title>grace window</title></rect>"#,
            x = grace.from_x,
            y = grace.y - ROW / 2.0 + 3.0,
            w = (grace.to_x - grace.from_x).max(1.0),
            hgt = ROW - 6.0,
        );
    }
    for edge in &layout.edges {
        let _ = write!(
            out,
            r#"<line class="edge" x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y2:.1}"/>"#,
            x = edge.x,
            y1 = edge.from_y,
            y2 = edge.to_y
        );
    }
    for row in &layout.rows {
        let class = if row.stolen { "row stolen" } else { "row" };
        let _ = write!(
            out,
            r#"<g class="{class}"><text class="label" x="8" y="{ty:.1}">token {n}</text><line class="bar" x1="{x1:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}"><title>token {n} ({id}), minted at {m}{dead}</title></line>"#,
            ty = row.y + 4.0,
            n = row.number,
            x1 = row.minted_x,
            x2 = row.bar_end_x.max(row.minted_x + 1.0),
            y = row.y,
            id = escape(&row.id),
            m = escape(&row.minted_at),
            dead = match (&row.dead_after, row.killed_by) {
                (Some(after), Some(by)) =>
                    format!(", dead {} later (token {by} used)", escape(after)),
                (Some(after), None) => format!(", dead {} later", escape(after)),
                _ => String::new(),
            },
        );
        let _ = write!(
            out,
            r#"<circle class="minted" cx="{x:.1}" cy="{y:.1}" r="4"/>"#,
            x = row.minted_x,
            y = row.y
        );
        for x in &row.uses_x {
            let _ = write!(
                out,
                r#"<circle class="use" cx="{x:.1}" cy="{y:.1}" r="2.5"/>"#,
                y = row.y
            );
        }
        if let Some(x) = row.dead_x {
            let _ = write!(
                out,
                r#"<line class="death" x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y2:.1}"/>"#,
                y1 = row.y - 7.0,
                y2 = row.y + 7.0
            );
        }
        out.push_str("</g>");
    }
    if let Some(replay) = layout.replay {
        let (x, y) = (replay.x, replay.y);
        let _ = write!(
            out,
            r#"<path class="replay" d="M{x:.1} {t:.1} L{r:.1} {y:.1} L{x:.1} {b:.1} L{l:.1} {y:.1} Z"><title>the replay judged theft</title></path>"#,
            t = y - 8.0,
            b = y + 8.0,
            r = x + 8.0,
            l = x - 8.0,
        );
    }
    out.push_str("</svg>");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use tessera_core::{TheftKind, TheftReport, TokenTrace};

    use super::*;
    use crate::picture::tests::{s, theft_after_parallel_tabs, trace};

    fn report(tokens: Vec<TokenTrace>, presented: &str, detected_s: i64) -> TheftReport {
        let dead_since = tokens
            .iter()
            .find(|t| t.hash2 == presented)
            .and_then(|t| t.dead_since);
        TheftReport {
            tokens,
            presented_hash2: presented.into(),
            detected_at: s(detected_s),
            dead_since,
            ..theft_after_parallel_tabs()
        }
    }

    fn row(layout: &Layout, number: usize) -> &RowLayout {
        &layout.rows[number - 1]
    }

    /// Two tabs refresh token 1 at once: both children hang from row 1, each at its own minting;
    /// later times lie further right; the stolen sibling's row carries the grace window from its
    /// death and, after it, the replay.
    #[test]
    fn parallel_tabs_then_a_theft() {
        let picture = SessionPicture::of_theft(&theft_after_parallel_tabs());
        let layout = layout(&picture);
        assert_eq!(layout.rows.len(), 4);
        let ys: Vec<f64> = layout.rows.iter().map(|r| r.y).collect();
        assert!(ys.windows(2).all(|pair| pair[1] - pair[0] == ROW), "{ys:?}");
        // Parent → child edges: 1 → 2, 1 → 3, 3 → 4, each at the child's minting.
        let edges: Vec<(f64, f64, f64)> = layout
            .edges
            .iter()
            .map(|e| (e.x, e.from_y, e.to_y))
            .collect();
        assert_eq!(
            edges,
            [
                (row(&layout, 2).minted_x, ys[0], ys[1]),
                (row(&layout, 3).minted_x, ys[0], ys[2]),
                (row(&layout, 4).minted_x, ys[2], ys[3]),
            ]
        );
        assert!(row(&layout, 2).minted_x < row(&layout, 3).minted_x);
        assert!(row(&layout, 1).minted_x == LABEL_WIDTH);
        // Token 1's uses are its two children's mintings.
        assert_eq!(
            row(&layout, 1).uses_x,
            [row(&layout, 2).minted_x, row(&layout, 3).minted_x]
        );
        let stolen = row(&layout, 2);
        assert!(stolen.stolen && !row(&layout, 3).stolen);
        let grace = layout.grace.expect("a grace window");
        assert_eq!((grace.y, Some(grace.from_x)), (stolen.y, stolen.dead_x));
        let replay = layout.replay.expect("a replay");
        assert_eq!(replay.y, stolen.y);
        assert!(
            grace.from_x < grace.to_x && grace.to_x < replay.x,
            "{grace:?} {replay:?}"
        );
        assert_eq!(replay.x, WIDTH - RIGHT_MARGIN);
        // Dead tokens' bars end at their death; the living one's at the end of the axis.
        assert_eq!(Some(stolen.bar_end_x), stolen.dead_x);
        assert_eq!(row(&layout, 4).bar_end_x, WIDTH - RIGHT_MARGIN);
        assert_eq!(stolen.dead_after.as_deref(), Some("40 s"));
    }

    /// A lost response: token 2 was minted but never reached the jar; the retry minted token 3,
    /// whose child's use long after killed token 2. Replayed later still, token 2 is the theft,
    /// and a short gap (1 ms) still gets visible room beside a long one (an hour).
    #[test]
    fn a_lost_response_and_a_late_replay() {
        let tokens = vec![
            trace("t1", None, 0, Some((3_600, "t4"))),
            trace("t2", Some("t1"), 1, Some((3_600, "t4"))),
            TokenTrace {
                issued_at: s(1) + Duration::from_millis(1),
                ..trace("t3", Some("t1"), 1, Some((3_600, "t4")))
            },
            trace("t4", Some("t3"), 3_599, None),
        ];
        let picture = SessionPicture::of_theft(&report(tokens, "t2", 7_200));
        let layout = layout(&picture);
        let (t2, t3) = (row(&layout, 2), row(&layout, 3));
        assert!(
            t3.minted_x - t2.minted_x >= 10.0,
            "1 ms apart yet {} px",
            t3.minted_x - t2.minted_x
        );
        assert!(t3.minted_x - t2.minted_x < row(&layout, 4).minted_x - t3.minted_x);
        assert!(t2.stolen);
        let labelled: Vec<&str> = layout
            .ticks
            .iter()
            .filter_map(|t| t.label.as_deref())
            .collect();
        assert_eq!(labelled.first(), Some(&"0"));
        assert_eq!(labelled.last(), Some(&"+2 h"));
        let mut unique = labelled.clone();
        unique.dedup();
        assert_eq!(unique, labelled, "no label repeats the one before it");
        let xs: Vec<f64> = layout.ticks.iter().map(|t| t.x).collect();
        assert!(xs.windows(2).all(|pair| pair[0] < pair[1]), "{xs:?}");
        let svg = svg(&picture, "session s");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("class=\"replay\"").count(), 1);
        assert_eq!(svg.matches("<g class=\"row").count(), 4);
        assert!(svg.contains("Token 2 was presented by a refresh 1 h after token 4 had been used"));
    }

    /// A device-bound session's copy refreshing: the presented token was alive, so there is no
    /// grace window to draw, only the replay; a live session draws neither.
    #[test]
    fn a_missing_device_proof_and_a_live_session() {
        let tokens = vec![trace("t1", None, 0, None)];
        let device = TheftReport {
            kind: TheftKind::MissingDeviceProof,
            ..report(tokens.clone(), "t1", 60)
        };
        let layout = layout(&SessionPicture::of_theft(&device));
        assert!(layout.grace.is_none());
        assert_eq!(layout.replay.map(|r| r.y), Some(row(&layout, 1).y));
        let live = super::layout(&SessionPicture::live(&tokens, s(60)));
        assert!(live.grace.is_none() && live.replay.is_none() && live.edges.is_empty());
        assert!(!svg(&SessionPicture::live(&tokens, s(60)), "a <b>").contains("<b>"));
    }
}
