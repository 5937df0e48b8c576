//! The Kubernetes REST API over HTTPS, for kubectl and other HTTP clients: TLS with the
//! cluster CA (client certificates optional), HTTP/1.1 and HTTP/2, authentication, then
//! every request handed to the gateway in this process as a typed `ApiRequest` on behalf
//! of the user. The shell decides nothing about resources; it translates.

pub mod credentials;
pub mod metrics_listener;
pub mod negotiate;
pub mod request_metrics;
pub mod route;
pub mod streams;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT, VARY, WARNING};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use kactor_actors::gateway::{
    ApiError, ApiOutcome, ApiRequest, Requester, ResourcePath, User, Verb, Warnings, WatchEvent,
    WatchEventType, REQUEST_BODY_BYTES_MAX,
};
use kactor_kube::openapi::Documents;
use kactor_kube::registry::by_plural;
use kactor_kube::{discovery, table};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, OnceCell, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tracing::{debug, info, warn, Instrument as _};

use self::credentials::CredentialReader;
use self::negotiate::OpenApiForm;
use self::request_metrics::RequestLabels;
use self::route::{Document, ResourceCall, Route};
use kactor_transport::gateway_client::{GatewayClient, WatchMessage, WatchStream};
use kactor_transport::metrics::metrics;
use kactor_transport::pki::NodeIdentity;

/// Connections served at once; past it, accepting waits. kube-apiserver bounds requests
/// in flight (400 + 200 mutating); a connection carries many, watches hold one each.
pub const CONNECTIONS_MAX: usize = 4096;
/// A TLS handshake that takes longer is dropped: a client that stalls must not hold a
/// connection slot.
pub const TLS_HANDSHAKE_MS_MAX: u64 = 10_000;
/// A client must send a request's headers within this long, or its HTTP/1.1 connection
/// is closed: an idle or trickling client must not hold a connection slot for ever.
pub const HEADER_READ_MS_MAX: u64 = 30_000;
/// Bytes of a request's headers: kube-apiserver's (Go's `DefaultMaxHeaderBytes`, 1 MiB).
/// Past it, 431 Request Header Fields Too Large.
pub const HEADER_BYTES_MAX: usize = 1024 * 1024;
/// HTTP/1.1 reads headers into one buffer that also holds the request line and what
/// follows the head in the same read: this much beyond `HEADER_BYTES_MAX`.
pub const HEADER_BUFFER_SLACK_BYTES: usize = 64 * 1024;
/// Bytes of an oversized request body read and dropped so its client gets the 413 (a
/// kubectl apply of a large file sends it whole over HTTP/2); past this the stream is
/// reset without an answer, so a client cannot make the shell read forever.
pub const REQUEST_BODY_DRAIN_BYTES_MAX: usize = 64 * 1024 * 1024;
/// A watch lasts at most this long unless the client asks for less (kube-apiserver's
/// `--min-request-timeout` default); the client then re-watches from its last revision.
pub const WATCH_SECONDS_MAX: u64 = 1800;
/// Watch lines queued for a slow HTTP client before the stream stops reading the
/// gateway (whose own queue then ends the watch with 410).
pub const WATCH_LINES_QUEUED_MAX: usize = 256;

pub type Body = BoxBody<Bytes, Infallible>;

pub struct ApiServerConfig {
    pub listen: SocketAddr,
    /// The serving certificate (DNS and IP SANs) and the CA that signs client certificates.
    pub identity: NodeIdentity,
    pub credentials: CredentialReader,
}

struct Shared {
    client: GatewayClient,
    credentials: CredentialReader,
    /// What `/api` advertises as the server's address.
    server_address: String,
    /// The OpenAPI documents, built at the first request for one.
    openapi: OnceCell<Documents>,
}

/// Binds the listener and serves until the process ends. Returns the bound address.
pub async fn serve(config: ApiServerConfig, client: GatewayClient) -> anyhow::Result<SocketAddr> {
    let tls = tokio_rustls::TlsAcceptor::from(config.identity.https_server_config()?);
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        client,
        credentials: config.credentials,
        server_address: addr.to_string(),
        openapi: OnceCell::new(),
    });
    let slots = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    tokio::spawn(async move {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (tls, shared) = (tls.clone(), shared.clone());
            tokio::spawn(async move {
                let _slot = slot;
                serve_connection(tls, tcp, peer, shared).await;
            });
        }
    });
    info!(%addr, "Kubernetes API serving (HTTPS)");
    Ok(addr)
}

async fn serve_connection(
    tls: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
) {
    // Nagle's algorithm holds a response's last small TLS record until the client ACKs
    // the previous one, which a delayed ACK makes tens of milliseconds; Go, and so
    // kube-apiserver, turns it off on every connection.
    if let Err(e) = tcp.set_nodelay(true) {
        debug!(%peer, error = %e, "cannot set TCP_NODELAY");
    }
    let handshake = Duration::from_millis(TLS_HANDSHAKE_MS_MAX);
    let stream = match tokio::time::timeout(handshake, tls.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            debug!(%peer, error = %e, "TLS handshake refused");
            return;
        }
        Err(_) => {
            debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    // The verified client certificate decides the user for the whole connection.
    let certificate_user = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|der| credentials::user_of_certificate(der));
    let service = hyper::service::service_fn(move |request| {
        let (shared, user) = (shared.clone(), certificate_user.clone());
        async move { Ok::<_, Infallible>(handle(&shared, user, request).await) }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(HEADER_READ_MS_MAX))
        .max_buf_size(HEADER_BYTES_MAX + HEADER_BUFFER_SLACK_BYTES);
    builder
        .http2()
        .max_header_list_size(HEADER_BYTES_MAX as u32);
    // Upgrades carry `pods/exec`'s WebSockets.
    let served = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await;
    if let Err(e) = served {
        debug!(%peer, error = %e, "connection ended");
    }
}

/// Answers one request and counts it in `apiserver_request_total` and
/// `apiserver_request_duration_seconds` (a watch or stream until its response starts).
async fn handle(
    shared: &Shared,
    certificate: Option<User>,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = std::time::Instant::now();
    let mut labels = RequestLabels::unrouted(request.method().as_str());
    let response = answer(shared, certificate, request, &mut labels).await;
    let code = response.status().as_u16();
    let RequestLabels {
        verb,
        resource,
        subresource,
    } = labels;
    metrics().api_request(verb, resource, subresource, code, started.elapsed());
    response
}

async fn answer(
    shared: &Shared,
    certificate: Option<User>,
    request: Request<Incoming>,
    labels: &mut RequestLabels,
) -> Response<Body> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (accept, content_type) = (header(ACCEPT), header(CONTENT_TYPE));
    let user_agent = header(USER_AGENT);
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let now_seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    // The gateway decides who this is; the span names the certificate's user, if any.
    let certified = certificate.as_ref().map_or("", |user| user.name.as_str());
    let span = tracing::info_span!("http", %method, %path, certificate = %certified);
    let user = Requester::from(shared.credentials.read(
        certificate,
        request.headers(),
        now_seconds,
    ));
    async move {
        let route = match route::parse(&method, &path, &query, &content_type) {
            Ok(route) => route,
            Err(error) => return unroutable(shared, user, &path, &error).await,
        };
        *labels = RequestLabels::of(&route);
        let response = match route {
            Route::Document(document) => {
                serve_document(shared, user, &document, &path, &accept).await
            }
            Route::Stream(stream) => streams::serve(shared, user, *stream, request).await,
            Route::Resource(mut call) => {
                route::default_field_manager(&mut call.request, &user_agent);
                let body = match read_body(request.into_body()).await {
                    Ok(body) => body,
                    Err(error) => return status_response(&error),
                };
                serve_resource(shared, user, *call, body, &content_type, &accept).await
            }
        };
        debug!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// Asks the gateway whether the requester may GET the non-resource URL `path`.
fn path_check(path: &str) -> ApiRequest {
    let path = ResourcePath {
        name: Some(path.trim_end_matches('/').to_string()),
        ..ResourcePath::default()
    };
    ApiRequest::new(Verb::GetPath, path)
}

/// A path the shell cannot route: the gateway still decides who asks first, so a request
/// without good credentials gets kube's 401 for any path, as kube-apiserver's filters
/// answer before its router.
async fn unroutable(
    shared: &Shared,
    user: Requester,
    path: &str,
    error: &ApiError,
) -> Response<Body> {
    match shared.client.call_as(user, path_check(path)).await {
        Err(refused) if refused.code == 401 => status_response(&refused),
        _ => status_response(error),
    }
}

/// Reads a request body of at most `REQUEST_BODY_BYTES_MAX` bytes. A longer one is read
/// on and dropped, up to `REQUEST_BODY_DRAIN_BYTES_MAX`, so that its client gets the 413:
/// over HTTP/2, a body left unread resets the stream, and the answer is lost with it.
async fn read_body(mut body: Incoming) -> Result<Vec<u8>, ApiError> {
    let mut collected: Vec<u8> = Vec::new();
    let mut received: usize = 0;
    let too_large = || {
        ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body is over {REQUEST_BODY_BYTES_MAX} bytes"),
        )
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                400,
                "BadRequest",
                format!("the request body is unreadable: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        received = received.saturating_add(data.len());
        if received > REQUEST_BODY_DRAIN_BYTES_MAX {
            return Err(too_large()); // dropped unread: the stream resets
        }
        if received <= REQUEST_BODY_BYTES_MAX {
            collected.extend_from_slice(&data);
        }
    }
    if received > REQUEST_BODY_BYTES_MAX {
        return Err(too_large());
    }
    Ok(collected)
}

/// Discovery and health: RBAC decides (through the gateway), the shell answers.
async fn serve_document(
    shared: &Shared,
    user: Requester,
    document: &Document,
    path: &str,
    accept: &str,
) -> Response<Body> {
    let answer = match shared.client.call_as(user, path_check(path)).await {
        Ok((_, answer)) => answer,
        Err(error) => return status_response(&error),
    };
    let aggregated = accept.contains("as=APIGroupDiscoveryList");
    let value = match document {
        Document::OpenApiV2 | Document::OpenApiV3Index | Document::OpenApiV3 { .. } => {
            return openapi_response(shared, document, path, accept).await
        }
        Document::Health {
            endpoint,
            check,
            verbose,
        } => return health_response(endpoint, check.as_deref(), *verbose, &answer),
        Document::Metrics => {
            let text = metrics().render();
            return bytes_response(
                StatusCode::OK,
                kactor_transport::metrics::CONTENT_TYPE,
                text.into_bytes(),
            );
        }
        Document::Version => Some(discovery::version_info()),
        Document::CoreVersions if aggregated => {
            return aggregated_response(discovery::aggregated_discovery(true))
        }
        Document::Groups if aggregated => {
            return aggregated_response(discovery::aggregated_discovery(false))
        }
        Document::CoreVersions => Some(discovery::api_versions(&shared.server_address)),
        Document::Groups => Some(discovery::api_group_list()),
        Document::Group(group) => discovery::api_group(group),
        Document::Resources { group, version } => discovery::api_resource_list(group, version),
    };
    match value {
        Some(value) => json_response(StatusCode::OK, &value),
        None => status_response(&ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )),
    }
}

/// The OpenAPI documents. `/openapi/v2` also comes as gnostic's protobuf, which
/// client-go's `OpenAPISchema()` asks for alone (kubectl's client-side validation and
/// `explain --output=plaintext-openapiv2` read it); the v3 documents come in JSON. A
/// media type not served gets kube's 406 rather than bytes the client cannot parse.
async fn openapi_response(
    shared: &Shared,
    document: &Document,
    path: &str,
    accept: &str,
) -> Response<Body> {
    let protobuf_offered = matches!(document, Document::OpenApiV2);
    let Some(form) = negotiate::openapi_form(accept, protobuf_offered) else {
        let served = if protobuf_offered {
            "application/json and application/com.github.proto-openapi.spec.v2.v1.0+protobuf are"
        } else {
            "only application/json is"
        };
        return status_response(&ApiError::new(
            406,
            "NotAcceptable",
            format!("{served} served at {path} (the request accepts {accept:?})"),
        ));
    };
    let documents = match openapi_documents(shared).await {
        Ok(documents) => documents,
        Err(error) => return status_response(&error),
    };
    let bytes = match (document, form) {
        (Document::OpenApiV2, OpenApiForm::Protobuf) => match documents.v2_protobuf() {
            Ok(bytes) => Some(bytes.to_vec()),
            Err(error) => {
                return status_response(&ApiError::unavailable(format!(
                    "the OpenAPI v2 document has no protobuf form: {error}"
                )))
            }
        },
        (Document::OpenApiV2, _) => Some(documents.v2().to_vec()),
        (Document::OpenApiV3Index, _) => serde_json::to_vec(&documents.v3_index()).ok(),
        (Document::OpenApiV3 { group, version }, _) => {
            documents.v3(group, version).map(<[u8]>::to_vec)
        }
        _ => None,
    };
    let content_type = match form {
        OpenApiForm::Json => "application/json",
        OpenApiForm::Protobuf => negotiate::OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
    };
    let Some(bytes) = bytes else {
        return status_response(&ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        ));
    };
    let mut response = bytes_response(StatusCode::OK, content_type, bytes);
    // One URL, two forms: caches must key on Accept (kube sends this too).
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept"));
    response
}

/// Builds the documents once, on a blocking thread: it takes a moment of CPU that must
/// not stall the other connections this worker serves.
async fn openapi_documents(shared: &Shared) -> Result<&Documents, ApiError> {
    shared
        .openapi
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(Documents::build)
                .await
                .map_err(|e| {
                    ApiError::internal(format!("building the OpenAPI documents failed: {e}"))
                })
        })
        .await
}

fn aggregated_response(value: Value) -> Response<Body> {
    let mut response = json_response(StatusCode::OK, &value);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(discovery::AGGREGATED_DISCOVERY_CONTENT_TYPE),
    );
    response
}

async fn serve_resource(
    shared: &Shared,
    user: Requester,
    call: ResourceCall,
    body: Vec<u8>,
    content_type: &str,
    accept: &str,
) -> Response<Body> {
    let ResourceCall {
        mut request,
        timeout_seconds,
        include_object,
        ..
    } = call;
    let table = wants_table(accept).then(|| TableForm {
        kind: match request.path.subresource.as_deref() {
            Some("scale") => "Scale",
            _ => by_plural(&request.path.group, &request.path.plural).map_or("", |r| r.kind),
        },
        include_object,
    });
    request.body = match json_body(body, content_type, request.verb) {
        Ok(body) => body,
        Err(error) => return status_response(&error),
    };
    let verb = request.verb;
    if verb == Verb::Watch {
        let counted = by_plural(&request.path.group, &request.path.plural).map(|r| {
            metrics()
                .apiserver_watch_events_total
                .with_label_values(&[r.group, r.version, r.kind])
        });
        return match shared.client.watch_as(user, request).await {
            Ok(stream) => watch_response(stream, timeout_seconds, table, counted),
            Err(error) => status_response(&error),
        };
    }
    match shared.client.request_as(user, request).await {
        Ok(ApiOutcome::Ok {
            code,
            body,
            warnings,
        }) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
            let mut response = match table {
                Some(table) if matches!(verb, Verb::Get | Verb::List) => {
                    json_response(status, &table.of_answer(&body))
                }
                _ => bytes_response(status, "application/json", body),
            };
            add_warnings(&mut response, &warnings);
            response
        }
        Ok(ApiOutcome::Err(error)) => status_response(&error),
        Ok(ApiOutcome::Watching) => {
            status_response(&ApiError::internal("a call answered as a watch".into()))
        }
        Err(e) => status_response(&ApiError::unavailable(e.to_string())),
    }
}

/// The body as JSON, which is what the gateway reads: a protobuf body (kubectl's typed
/// `create` commands send one) is decoded; a patch keeps its own media type.
fn json_body(body: Vec<u8>, content_type: &str, verb: Verb) -> Result<Vec<u8>, ApiError> {
    if body.is_empty() || is_json(content_type) || matches!(verb, Verb::Patch(_)) {
        return Ok(body);
    }
    if !kactor_kube::protobuf::is_protobuf_content_type(content_type) {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf (got {content_type:?})"),
        ));
    }
    let object = kactor_kube::protobuf::decode_object(&body).map_err(|error| {
        let (code, reason) = match error {
            kactor_kube::protobuf::ProtobufError::UnsupportedKind { .. } => {
                (415, "UnsupportedMediaType")
            }
            kactor_kube::protobuf::ProtobufError::Malformed { .. } => (400, "BadRequest"),
            kactor_kube::protobuf::ProtobufError::LimitExceeded { .. } => {
                (413, "RequestEntityTooLarge")
            }
        };
        ApiError::new(code, reason, error.to_string())
    })?;
    Ok(serde_json::to_vec(&object).expect("a JSON value serializes"))
}

fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    media.is_empty() || media == "application/json" || media == "*/*"
}

/// A watch as kube streams it: one JSON object per line, `{"type": ..., "object": ...}`.
fn watch_response(
    mut stream: WatchStream,
    timeout_seconds: Option<u64>,
    table: Option<TableForm>,
    counted: Option<prometheus::IntCounter>,
) -> Response<Body> {
    let (lines, queued) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(WATCH_LINES_QUEUED_MAX);
    let seconds = timeout_seconds
        .unwrap_or(WATCH_SECONDS_MAX)
        .min(WATCH_SECONDS_MAX);
    tokio::spawn(
        async move {
            let deadline = tokio::time::sleep(Duration::from_secs(seconds));
            tokio::pin!(deadline);
            let mut last_revision: Option<u64> = None;
            loop {
                let message = tokio::select! {
                    message = stream.recv() => message,
                    _ = &mut deadline => return,
                };
                // The lines to send, and whether the stream ends after them (an ERROR
                // line always ends it: the client relists).
                let (frames, ends) = match message {
                    Some(WatchMessage::Events {
                        from_revision,
                        revision,
                        events,
                    }) => {
                        if last_revision.is_some_and(|last| from_revision > last + 1) {
                            // A message was lost on the way: end the stream as a broken
                            // connection would. The client watches again from the last
                            // resourceVersion it got, and the gateway decides whether its
                            // cache still reaches it (or answers 410).
                            return;
                        } else {
                            last_revision = Some(revision);
                            if let Some(counter) = &counted {
                                counter.inc_by(events.len() as u64);
                            }
                            let lines = events
                                .iter()
                                .map(|e| event_line(e, table.as_ref()))
                                .collect();
                            (lines, false)
                        }
                    }
                    Some(WatchMessage::Ended(Some(error))) => (vec![error_line(&error)], true),
                    Some(WatchMessage::Ended(None)) | None => return,
                };
                for frame in frames {
                    if lines.send(Ok(Frame::data(frame))).await.is_err() {
                        return; // the client went away; dropping the stream cancels the watch
                    }
                }
                if ends {
                    return;
                }
            }
        }
        .in_current_span(),
    );
    let body = StreamBody::new(ReceiverStream::new(queued)).boxed();
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// One watch event as a line; in Table form, the object becomes a one-row Table
/// (bookmarks stay as they are, as kube sends them).
fn event_line(event: &WatchEvent, table: Option<&TableForm>) -> Bytes {
    let kind = event.kind.as_str();
    let object = match table {
        Some(table) if event.kind != WatchEventType::Bookmark => {
            let object: Value = serde_json::from_slice(&event.object).unwrap_or_default();
            serde_json::to_vec(&table.of(std::slice::from_ref(&object), Value::Null))
                .unwrap_or_default()
        }
        _ => event.object.clone(),
    };
    let mut line = Vec::with_capacity(object.len() + 32);
    line.extend_from_slice(br#"{"type":""#);
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(br#"","object":"#);
    line.extend_from_slice(&object);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

/// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (kubectl get's first choice).
fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        params.contains(&"as=Table")
            && params.contains(&"g=meta.k8s.io")
            && params.contains(&"v=v1")
    })
}

/// How to print answers as kube's `meta.k8s.io/v1` Table.
struct TableForm {
    kind: &'static str,
    include_object: String,
}

impl TableForm {
    fn of(&self, objects: &[Value], list_metadata: Value) -> Value {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        table::to_table(
            self.kind,
            objects,
            list_metadata,
            now_ms,
            &self.include_object,
        )
    }

    /// A get's object or a list's items, as a Table.
    fn of_answer(&self, body: &[u8]) -> Value {
        let answer: Value = serde_json::from_slice(body).unwrap_or_default();
        match answer["items"].as_array() {
            Some(items) => self.of(items, answer["metadata"].clone()),
            None => self.of(std::slice::from_ref(&answer), Value::Null),
        }
    }
}

fn error_line(error: &ApiError) -> Bytes {
    let line = serde_json::json!({"type": "ERROR", "object": error.to_status()});
    let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

pub fn status_response(error: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &error.to_status());
    // client-go retries a 429 or 5xx by itself only when the answer says when.
    if error.details.retry_after_seconds > 0 {
        response.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            HeaderValue::from(error.details.retry_after_seconds),
        );
    }
    response
}

/// kube's `Warning: 299 - "text"` headers (RFC 7234's warn-code, no agent, a quoted text),
/// which client-go hands to kubectl to print as `Warning: text`.
fn add_warnings(response: &mut Response<Body>, warnings: &Warnings) {
    for text in warnings.iter() {
        let quoted = text.replace('\\', "\\\\").replace('"', "\\\"");
        // A header value may not hold control characters; such a warning is not sent.
        if let Ok(value) = HeaderValue::from_str(&format!("299 - \"{quoted}\"")) {
            response.headers_mut().append(WARNING, value);
        }
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    bytes_response(status, "application/json", body)
}

/// kube's health text from the gateway's report (`[{"name": .., "ok": ..}]`): `ok` when all
/// pass, else (or when `verbose`) a `[+]`/`[-]` line per check and the verdict, with 500 on
/// a failure. A failing check's reason stays in the server's log, as kube withholds it.
fn health_response(
    endpoint: &str,
    check: Option<&str>,
    verbose: bool,
    report: &[u8],
) -> Response<Body> {
    let results: Vec<(String, bool)> = serde_json::from_slice::<Value>(report)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["ok"] == true,
            )
        })
        .collect();
    let text = text_response;
    if let Some(check) = check {
        return match results.iter().find(|(name, _)| name == check) {
            Some((_, true)) => text(StatusCode::OK, "ok".into()),
            Some((_, false)) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal server error: {check} check failed\n"),
            ),
            None => text(StatusCode::NOT_FOUND, "404 page not found\n".into()),
        };
    }
    let passed = !results.is_empty() && results.iter().all(|(_, ok)| *ok);
    if passed && !verbose {
        return text(StatusCode::OK, "ok".into());
    }
    let mut body: String = results
        .iter()
        .map(|(name, ok)| match ok {
            true => format!("[+]{name} ok\n"),
            false => format!("[-]{name} failed: reason withheld\n"),
        })
        .collect();
    let (status, verdict) = match passed {
        true => (StatusCode::OK, "passed"),
        false => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
    };
    if !passed {
        warn!(endpoint, report = %String::from_utf8_lossy(report), "health check failed");
    }
    body.push_str(&format!("{endpoint} check {verdict}\n"));
    text(status, body)
}

fn text_response(status: StatusCode, text: String) -> Response<Body> {
    bytes_response(status, "text/plain; charset=utf-8", text.into_bytes())
}

fn bytes_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_that_says_when_to_retry_carries_retry_after() {
        let unavailable = status_response(&ApiError::unavailable("loading".into()));
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.headers()[hyper::header::RETRY_AFTER], "1");
        let not_found = status_response(&ApiError::new(404, "NotFound", "gone".into()));
        assert!(!not_found.headers().contains_key(hyper::header::RETRY_AFTER));
    }

    #[test]
    fn warnings_go_as_quoted_299_headers_and_a_control_character_is_not_sent() {
        let mut warnings = Warnings::default();
        warnings.add(r#"unknown field "spec.x""#.into());
        warnings.add(r"a \ backslash".into());
        warnings.add("a\nnewline".into());
        let mut response = text_response(StatusCode::OK, String::new());
        add_warnings(&mut response, &warnings);
        let sent: Vec<_> = response.headers().get_all(WARNING).iter().collect();
        assert_eq!(
            sent,
            [
                r#"299 - "unknown field \"spec.x\"""#,
                r#"299 - "a \\ backslash""#
            ]
        );
    }
}
