//! Reports: the organisation's use of Sealpost per day (the last 30) or per week (the last
//! 12) — messages sent, recipients, sealed bytes, the share of recipients who opened their
//! message within 24 hours, replies — as bar charts drawn on the server (SVG in the page,
//! readable without JavaScript, each with its figures in a table beside it), the top senders,
//! and the same figures as CSV.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::error::{ConsoleError, page};
use super::extract::TenantAdmin;
use super::home::Nav;
use super::{DAY_MS, day_of};
use crate::center::csrf_token;
use crate::center::read::human_size;
use crate::db::now_ms;
use crate::state::AppState;
use crate::store::reports::{self, Period};

/// Top senders listed.
const TOP_SENDERS: i64 = 10;

/// Per day or per week.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grain {
    Day,
    Week,
}

impl Grain {
    fn parse(s: &str) -> Grain {
        if s == "week" { Grain::Week } else { Grain::Day }
    }

    fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
        }
    }

    /// The periods to show, ending with the current one.
    fn range(self, now: i64) -> Range {
        let today = now.div_euclid(DAY_MS) * DAY_MS;
        match self {
            Grain::Day => Range { first: today - 29 * DAY_MS, length: DAY_MS, count: 30 },
            Grain::Week => {
                // 1970-01-01 was a Thursday: Monday is 3 days before day 0's weekday.
                let days = today / DAY_MS;
                let monday = (days - (days + 3).rem_euclid(7)) * DAY_MS;
                Range { first: monday - 11 * 7 * DAY_MS, length: 7 * DAY_MS, count: 12 }
            }
        }
    }
}

/// `count` periods of `length` ms from `first` (ms).
struct Range {
    first: i64,
    length: i64,
    count: i64,
}

impl Range {
    /// Where the last period ends.
    fn end(&self) -> i64 {
        self.first + self.length * self.count
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ReportQuery {
    #[serde(default)]
    period: String,
}

/// The share of recipients who opened within a day, in whole percent (0 with none).
fn opened_percent(p: &Period) -> i64 {
    if p.recipients == 0 { 0 } else { p.opened_within_day * 100 / p.recipients }
}

/// One chart: its title, the SVG, and its figures as (period, shown value) for the table.
struct Chart {
    title: &'static str,
    svg: String,
    rows: Vec<(String, String)>,
}

/// A bar chart of `values`, one bar per period, as SVG markup.
///
/// Drawn here rather than with a plotting crate: a row of rectangles with a scale needs a
/// few lines of SVG, while the crates that draw charts (plotters and the like) bring fonts,
/// image back-ends and far more code than the page uses. Everything written into the markup
/// is numbers and dates this function makes, never text from a message or a person.
fn bar_chart(title: &str, values: &[(String, i64)], label: impl Fn(i64) -> String) -> String {
    const WIDTH: i64 = 600;
    const HEIGHT: i64 = 140;
    const TOP: i64 = 16;
    const BOTTOM: i64 = 20;
    let highest = values.iter().map(|(_, v)| *v).max().unwrap_or(0);
    // The scale: bars grow to the highest value (all-zero figures draw no bars).
    let max = highest.max(1);
    let n = values.len().max(1) as i64;
    let slot = WIDTH / n;
    let plot = HEIGHT - TOP - BOTTOM;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" role=\"img\" \
         aria-label=\"{title}, {} to {}, at most {}\" xmlns=\"http://www.w3.org/2000/svg\">",
        values.first().map_or("", |v| v.0.as_str()),
        values.last().map_or("", |v| v.0.as_str()),
        label(highest),
    );
    svg.push_str(&format!(
        "<line x1=\"0\" y1=\"{y}\" x2=\"{WIDTH}\" y2=\"{y}\" stroke=\"#767676\"/>",
        y = HEIGHT - BOTTOM
    ));
    svg.push_str(&format!(
        "<text x=\"0\" y=\"11\" font-size=\"11\" fill=\"#1b1b1b\">{}</text>",
        label(highest)
    ));
    for (i, (period, value)) in values.iter().enumerate() {
        let h = value * plot / max;
        let x = i as i64 * slot + 1;
        let y = HEIGHT - BOTTOM - h;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{h}\" fill=\"#1f4e79\">\
             <title>{period}: {}</title></rect>",
            (slot - 2).max(1),
            label(*value)
        ));
    }
    for (i, (period, _)) in values.iter().enumerate() {
        if i == 0 || i + 1 == values.len() {
            let anchor = if i == 0 { "start" } else { "end" };
            let x = if i == 0 { 0 } else { WIDTH };
            svg.push_str(&format!(
                "<text x=\"{x}\" y=\"{}\" font-size=\"11\" text-anchor=\"{anchor}\" \
                 fill=\"#1b1b1b\">{period}</text>",
                HEIGHT - 5
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

fn charts(periods: &[Period]) -> Vec<Chart> {
    type Figure = (&'static str, fn(&Period) -> i64, fn(i64) -> String);
    let count = |v: i64| v.to_string();
    let figures: [Figure; 5] = [
        ("Messages sent", |p| p.messages, count),
        ("Recipients", |p| p.recipients, count),
        ("Sealed bytes", |p| p.bytes, |v| human_size(v.max(0) as u64)),
        ("Opened within 24 hours", opened_percent, |v| format!("{v} %")),
        ("Replies through the Message Center", |p| p.replies, count),
    ];
    figures
        .iter()
        .map(|(title, value, label)| {
            let values: Vec<(String, i64)> =
                periods.iter().map(|p| (day_of(p.start), value(p))).collect();
            Chart {
                title,
                svg: bar_chart(title, &values, label),
                rows: values.iter().map(|(d, v)| (d.clone(), label(*v))).collect(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage<'a> {
    nav: Nav<'a>,
    grain: &'static str,
    charts: Vec<Chart>,
    top: Vec<(String, i64)>,
}

/// Tenant `tenant`'s figures for the periods `grain` shows now.
async fn figures(state: &AppState, tenant: i64, grain: Grain) -> Result<Vec<Period>, ConsoleError> {
    let r = grain.range(now_ms());
    Ok(reports::periods(&state.db, tenant, r.first, r.length, r.count).await?)
}

/// `GET /admin/reports?period=day|week`
pub(super) async fn reports(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ConsoleError> {
    let grain = Grain::parse(&q.period);
    let periods = figures(&state, session.tenant_id, grain).await?;
    let r = grain.range(now_ms());
    let top =
        reports::top_senders(&state.db, session.tenant_id, r.first, r.end(), TOP_SENDERS).await?;
    let (jar, csrf) = csrf_token(jar);
    let view = ReportsPage {
        nav: Nav::of(&session, &csrf),
        grain: grain.as_str(),
        charts: charts(&periods),
        top,
    };
    Ok((jar, page(StatusCode::OK, &view)?).into_response())
}

/// `GET /admin/reports.csv?period=day|week`: the same figures, one line per period.
pub(super) async fn csv(
    State(state): State<AppState>,
    TenantAdmin(session): TenantAdmin,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ConsoleError> {
    let grain = Grain::parse(&q.period);
    let periods = figures(&state, session.tenant_id, grain).await?;
    // Every field is a date or a number: nothing needs quoting.
    let mut out = String::from(
        "period_start,messages,recipients,sealed_bytes,opened_within_24h,opened_within_24h_percent,replies\n",
    );
    for p in &periods {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            day_of(p.start),
            p.messages,
            p.recipients,
            p.bytes,
            p.opened_within_day,
            opened_percent(p),
            p.replies
        ));
    }
    let name = format!("attachment; filename=\"sealpost-report-per-{}.csv\"", grain.as_str());
    let mut response = out.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&name).map_err(ConsoleError::internal)?,
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_days_at_midnight_utc() {
        // 2025-12-05 09:25 UTC was a Friday.
        let now = 1_764_926_700_000;
        let week = Grain::Week.range(now);
        assert_eq!(day_of(week.end() - week.length), "2025-12-01");
        let day = Grain::Day.range(now);
        assert_eq!(day_of(day.end() - day.length), "2025-12-05");
        assert_eq!(day_of(day.first), "2025-11-06");
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_carry_their_figures() {
        let values = vec![("2026-12-01".to_string(), 0), ("2026-12-02".to_string(), 4)];
        let svg = bar_chart("Messages sent", &values, |v| v.to_string());
        assert!(svg.contains("height=\"104\""), "the largest bar fills the plot: {svg}");
        assert!(svg.contains("height=\"0\""));
        assert!(svg.contains("<title>2026-12-02: 4</title>"));
    }
}
