//! The panel's charts, drawn as SVG from Rust (no chart library in the bundle): a month's daily
//! cost as bars, each item's usage over 30 days as lines. Every chart has its numbers as a table
//! too, for screen readers (the SVG is `aria-hidden`). Scaling is in exact decimals: the
//! workspace forbids float arithmetic, and a chart has no need of it.

use leptos::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const WIDTH: i64 = 600;
const HEIGHT: i64 = 160;
const PALETTE: [&str; 6] = [
    "#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2",
];

/// `value / max` of `span` units, rounded down (0 when `max` is 0).
fn scaled(value: Decimal, max: Decimal, span: i64) -> i64 {
    if max <= Decimal::ZERO {
        return 0;
    }
    (value * Decimal::from(span) / max)
        .floor()
        .to_i64()
        .unwrap_or(0)
        .clamp(0, span)
}

/// Bars, one per label (a day of the month), heights by value.
#[component]
pub fn BarChart(
    /// `(label, value)` in drawing order.
    bars: Vec<(String, Decimal)>,
    /// What the chart shows, for its title.
    title: String,
    testid: &'static str,
) -> impl IntoView {
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or_default();
    let count = i64::try_from(bars.len()).unwrap_or(1).max(1);
    let slot = WIDTH / count;
    let width = (slot * 3 / 4).max(1);
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let h = scaled(*value, max, HEIGHT);
            let x = i64::try_from(i).unwrap_or(0) * slot + (slot - width) / 2;
            view! {
                <rect x=x y=HEIGHT - h width=width height=h fill=PALETTE[0]>
                    <title>{format!("{label}: {value}")}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid=testid>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=title.clone() class="chart-svg">
                <line x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT stroke="#94a3b8" stroke-width="1"/>
                {rects}
            </svg>
            <figcaption>{title}</figcaption>
        </figure>
    }
}

/// Lines, one per series, over the same points on the x axis; each series scaled to its own
/// maximum (items are counted in different units).
#[component]
pub fn LineChart(
    /// `(series name, values)`, every series as long as the others.
    series: Vec<(String, Vec<Decimal>)>,
    title: String,
    testid: &'static str,
) -> impl IntoView {
    let lines = series
        .iter()
        .enumerate()
        .map(|(n, (name, values))| {
            let max = values.iter().copied().max().unwrap_or_default();
            let steps = i64::try_from(values.len()).unwrap_or(1).saturating_sub(1).max(1);
            let points = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let x = i64::try_from(i).unwrap_or(0) * WIDTH / steps;
                    format!("{x},{}", HEIGHT - scaled(*v, max, HEIGHT - 4) - 2)
                })
                .collect::<Vec<_>>()
                .join(" ");
            let colour = PALETTE[n % PALETTE.len()];
            view! {
                <polyline points=points fill="none" stroke=colour stroke-width="2" vector-effect="non-scaling-stroke">
                    <title>{name.clone()}</title>
                </polyline>
            }
        })
        .collect_view();
    let legend = series
        .iter()
        .enumerate()
        .map(|(n, (name, _))| {
            let colour = PALETTE[n % PALETTE.len()];
            view! { <li><span class="swatch" style=format!("background:{colour}")></span>{name.clone()}</li> }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid=testid>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=title.clone() class="chart-svg">
                <line x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT stroke="#94a3b8" stroke-width="1"/>
                {lines}
            </svg>
            <figcaption>{title}<ul class="legend">{legend}</ul></figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_scale_to_the_span_and_never_past_it() {
        let d = |n: i64| Decimal::from(n);
        assert_eq!(scaled(d(50), d(100), 160), 80);
        assert_eq!(scaled(d(100), d(100), 160), 160);
        assert_eq!(scaled(d(1), d(0), 160), 0);
        assert_eq!(scaled(d(200), d(100), 160), 160);
    }
}
