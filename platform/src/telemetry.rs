//! Metrics for Prometheus (`GET /metrics`) and the request counters behind them. Logs are
//! `tracing` events (set up in `main`); neither ever carries message content or secrets.
//!
//! Route labels are axum's matched path (`/api/v1/messages/{id}`), never the raw path, so
//! message ids never become label values.
//!
//! The counters are this node's own: with several nodes, Prometheus scrapes each node and
//! sums them (`sum by (route) (…)`); nothing reads them back to decide anything.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// The process-wide recorder (installed once; every app in the process shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("the metrics recorder is installed once per process")
    })
}

/// Counts every request by route, method and status, and times it.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("sealpost_http_requests_total", &labels).increment(1);
    metrics::histogram!("sealpost_http_request_duration_seconds", &labels[..2])
        .record(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: Prometheus text format. The mail queue's length is read from the database
/// as the page is asked for: it is the platform's, not this node's (every node reports the
/// same figures; alert on their `max`, never a sum).
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    match crate::store::notifications::queue_length(&state.db).await {
        Ok(q) => {
            for (kind, n) in [("waiting", q.waiting), ("retrying", q.retrying), ("dead", q.dead)] {
                metrics::gauge!("sealpost_mail_queue", "state" => kind).set(n as f64);
            }
            metrics::gauge!("sealpost_mail_queue_oldest_seconds").set(q.oldest_ms as f64 / 1000.0);
        }
        // The rest of the page still answers; a stale gauge is better than no metrics.
        Err(e) => tracing::warn!(error = %e, "cannot read the mail queue's length"),
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
}
