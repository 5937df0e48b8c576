//! The process's metrics on plain HTTP (`kactor server --metrics-listen`), as etcd's
//! `--listen-metrics-urls` serves them: no TLS, no authentication, `/metrics` only. The
//! API serves the same text at `/metrics` behind RBAC.

use std::time::Duration;

use kactor_transport::metrics;

/// Connections the plain metrics listener serves at once: scrapers are few.
pub const PLAIN_CONNECTIONS_MAX: usize = 16;
/// A scraper must send its request within this long.
const PLAIN_HEADER_READ_MS_MAX: u64 = 10_000;

/// Serves `GET /metrics` on plain HTTP at `listen` (etcd's `--listen-metrics-urls`);
/// every other path is 404. Returns the bound address.
pub async fn serve_plain(listen: std::net::SocketAddr) -> anyhow::Result<std::net::SocketAddr> {
    use http_body_util::Full;
    use hyper::{Response, StatusCode};
    use hyper_util::rt::{TokioIo, TokioTimer};

    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(PLAIN_CONNECTIONS_MAX));
    tokio::spawn(async move {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let Ok((tcp, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let service = hyper::service::service_fn(
                |request: hyper::Request<hyper::body::Incoming>| async move {
                    let (status, body) = match request.uri().path() {
                        "/metrics" => (StatusCode::OK, metrics::metrics().render()),
                        _ => (
                            StatusCode::NOT_FOUND,
                            "only /metrics is served here\n".to_string(),
                        ),
                    };
                    let mut response = Response::new(Full::new(bytes::Bytes::from(body)));
                    *response.status_mut() = status;
                    let content_type =
                        hyper::header::HeaderValue::from_static(metrics::CONTENT_TYPE);
                    response
                        .headers_mut()
                        .insert(hyper::header::CONTENT_TYPE, content_type);
                    Ok::<_, std::convert::Infallible>(response)
                },
            );
            tokio::spawn(async move {
                let _slot = slot;
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_millis(PLAIN_HEADER_READ_MS_MAX))
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!(error = %e, "metrics connection ended");
                }
            });
        }
    });
    Ok(addr)
}
