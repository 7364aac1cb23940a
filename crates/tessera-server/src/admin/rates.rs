//! Small bar charts of an app's events per minute over the last hour, drawn on the server as SVG
//! (one bar per minute, the current minute on the right).

use std::fmt::Write as _;

use crate::activity::MINUTES;

const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 48.0;
const BAR: f64 = WIDTH / MINUTES as f64;

/// One chart: the bars' heights (what the tests look at) and its SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct RateChart {
    pub name: &'static str,
    /// Events in the busiest minute.
    pub peak: u64,
    /// Events over the hour.
    pub hour_total: u64,
    pub svg: String,
}

/// Bar heights in pixels, scaled so the busiest minute fills the chart; an empty minute has
/// none, a minute with any event at least one pixel.
pub fn bar_heights(per_minute: &[u64; MINUTES]) -> [f64; MINUTES] {
    let peak = per_minute.iter().copied().max().unwrap_or(0);
    let mut heights = [0.0; MINUTES];
    if peak == 0 {
        return heights;
    }
    for (height, count) in heights.iter_mut().zip(per_minute) {
        if *count > 0 {
            *height = (*count as f64 / peak as f64 * (HEIGHT - 2.0)).max(1.0);
        }
    }
    heights
}

/// The chart of one event's minutes.
pub fn chart(name: &'static str, per_minute: &[u64; MINUTES]) -> RateChart {
    let peak = per_minute.iter().copied().max().unwrap_or(0);
    let hour_total = per_minute.iter().sum();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="rate" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{name} per minute over the last hour: {hour_total} in all, at most {peak} in one minute"><line class="baseline" x1="0" y1="{b}" x2="{WIDTH}" y2="{b}"/>"#,
        b = HEIGHT - 0.5,
    );
    for (index, (height, count)) in bar_heights(per_minute).iter().zip(per_minute).enumerate() {
        if *height > 0.0 {
            let minutes_ago = MINUTES - 1 - index;
            let _ = write!(
                svg,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{height:.1}"><title>{count} {when}</title></rect>"#,
                x = index as f64 * BAR,
                y = HEIGHT - height,
                w = BAR - 1.0,
                when = match minutes_ago {
                    0 => "this minute".to_owned(),
                    1 => "1 minute ago".to_owned(),
                    n => format!("{n} minutes ago"),
                },
            );
        }
    }
    svg.push_str("</svg>");
    RateChart {
        name,
        peak,
        hour_total,
        svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_minute_fills_the_chart_and_quiet_ones_stay_visible() {
        let mut minutes = [0; MINUTES];
        minutes[MINUTES - 1] = 200;
        minutes[10] = 1;
        let heights = bar_heights(&minutes);
        assert_eq!(heights[MINUTES - 1], HEIGHT - 2.0);
        assert_eq!(heights[10], 1.0);
        assert_eq!(heights.iter().filter(|h| **h > 0.0).count(), 2);
        let chart = chart("refreshes", &minutes);
        assert_eq!((chart.peak, chart.hour_total), (200, 201));
        assert_eq!(chart.svg.matches("<rect").count(), 2);
        assert!(chart.svg.contains("<title>200 this minute</title>"));
        assert!(chart.svg.contains("<title>1 49 minutes ago</title>"));
    }

    #[test]
    fn an_idle_hour_draws_only_the_baseline() {
        let chart = chart("thefts detected", &[0; MINUTES]);
        assert_eq!((chart.peak, chart.hour_total), (0, 0));
        assert!(!chart.svg.contains("<rect"));
        assert!(chart.svg.contains("0 in all"));
    }
}
