//! A stand-in for the kubelet's log and exec streams, until the real kubelet serves them:
//! a [`StreamServer`] that runs no container. Logs are fixed lines (honouring
//! `tailLines`, `timestamps`, `limitBytes`, `previous`; in follow mode one more line
//! every [`FOLLOW_LINE_MS`] until the caller goes away). Exec runs nothing real:
//! `echo ARGS` prints its arguments, `cat` copies stdin to stdout until stdin closes,
//! `false` exits 1, `exit N` exits N; any other command prints itself, then copies stdin.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kactor_actors::gateway::streams::{
    ExecOptions, LogOptions, StreamKind, StreamStart, StreamStatus, CHANNEL_STDOUT,
};
use kactor_actors::gateway::ApiError;
use kactor_transport::kubelet_streams::StreamServer;
use kactor_transport::streams::{StreamEvent, StreamPort};

/// How often a followed log grows by a line.
pub const FOLLOW_LINE_MS: u64 = 100;

/// The double; `lines` is every container's log.
#[derive(Clone, Debug)]
pub struct KubeletDouble {
    pub lines: Vec<String>,
    /// Streams being served now: a test sees a cancelled stream end here.
    active: Arc<AtomicUsize>,
}

impl Default for KubeletDouble {
    fn default() -> Self {
        KubeletDouble {
            lines: (1..=3).map(|i| format!("line {i}")).collect(),
            active: Arc::default(),
        }
    }
}

impl KubeletDouble {
    pub fn active_streams(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }
}

/// Counts a stream as active while it lives.
struct Active(Arc<AtomicUsize>);

impl Active {
    fn new(count: &Arc<AtomicUsize>) -> Active {
        count.fetch_add(1, Ordering::SeqCst);
        Active(count.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The kubelet's timestamp of line `i` (RFC 3339 with nanoseconds, as CRI logs have).
fn timestamp(i: usize) -> String {
    format!("2025-01-01T00:00:{:02}.000000000Z", i % 60)
}

impl StreamServer for KubeletDouble {
    fn serve(
        &self,
        start: StreamStart,
        port: StreamPort,
    ) -> impl std::future::Future<Output = ()> + Send {
        let lines = self.lines.clone();
        let active = Active::new(&self.active);
        async move {
            let _active = active;
            match start.kind.clone() {
                StreamKind::Log(options) => serve_log(lines, &start, options, port).await,
                StreamKind::Exec(options) => serve_exec(options, port).await,
            }
        }
    }
}

async fn serve_log(
    lines: Vec<String>,
    start: &StreamStart,
    options: LogOptions,
    mut port: StreamPort,
) {
    if options.previous {
        // The kubelet's answer for a container that never restarted.
        let error = ApiError::bad_request(format!(
            "previous terminated container \"{}\" in pod \"{}\" not found",
            start.container, start.pod
        ));
        return port.end(StreamStatus::Failed(error));
    }
    port.accept();
    let render = |i: usize, line: &str| match options.timestamps {
        true => format!("{} {line}\n", timestamp(i)),
        false => format!("{line}\n"),
    };
    let tail = options
        .tail_lines
        .map_or(lines.len(), |t| t.max(0) as usize);
    let skip = lines.len().saturating_sub(tail);
    let mut text: String = lines
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, line)| render(i + 1, line))
        .collect();
    if let Some(limit) = options.limit_bytes {
        text.truncate((limit.max(0) as usize).min(text.len()));
    }
    if port.write(CHANNEL_STDOUT, text.as_bytes()).await.is_err() {
        return;
    }
    if !options.follow {
        return port.end(StreamStatus::Success);
    }
    for i in lines.len() + 1.. {
        tokio::select! {
            event = port.next() => if let StreamEvent::End(_) = event { return },
            _ = tokio::time::sleep(Duration::from_millis(FOLLOW_LINE_MS)) => {
                let line = render(i, &format!("line {i}"));
                if port.write(CHANNEL_STDOUT, line.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn serve_exec(options: ExecOptions, mut port: StreamPort) {
    port.accept();
    let (program, args) = options.command.split_first().expect("the gateway checks");
    let status = match program.as_str() {
        "echo" => {
            let out = format!("{}\n", args.join(" "));
            port.write(CHANNEL_STDOUT, out.as_bytes()).await.map(|()| 0)
        }
        "false" => Ok(1),
        "exit" => Ok(args.first().and_then(|n| n.parse().ok()).unwrap_or(0)),
        "cat" => copy_stdin(&mut port, options.stdin).await.map(|()| 0),
        // Prints the terminal's size once the caller sends it: what a tty exec relays.
        "size" => terminal_size(&mut port).await,
        _ => {
            let out = format!("{}\n", options.command.join(" "));
            match port.write(CHANNEL_STDOUT, out.as_bytes()).await {
                Ok(()) => copy_stdin(&mut port, options.stdin).await.map(|()| 0),
                Err(status) => Err(status),
            }
        }
    };
    match status {
        Ok(0) => port.end(StreamStatus::Success),
        Ok(code) => port.end(StreamStatus::ExitCode(code)),
        Err(_) => {} // the caller went away: the port is over already
    }
}

/// How long `size` waits for the caller's first resize before it fails.
const RESIZE_WAIT: Duration = Duration::from_secs(10);

/// Waits for the first resize and writes it as `WIDTHxHEIGHT`; exit code 1 when none comes.
async fn terminal_size(port: &mut StreamPort) -> Result<i32, StreamStatus> {
    let deadline = tokio::time::Instant::now() + RESIZE_WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, port.next()).await;
        let Ok(event) = event else {
            port.write(CHANNEL_STDOUT, b"no resize came\r\n").await?;
            return Ok(1);
        };
        match event {
            StreamEvent::Resize { width, height } => {
                let size = format!("{width}x{height}\r\n");
                return port
                    .write(CHANNEL_STDOUT, size.as_bytes())
                    .await
                    .map(|()| 0);
            }
            StreamEvent::End(status) => return Err(status),
            StreamEvent::Data { .. } | StreamEvent::Close { .. } | StreamEvent::Credit => {}
        }
    }
}

/// Copies stdin to stdout until stdin closes.
async fn copy_stdin(port: &mut StreamPort, stdin: bool) -> Result<(), StreamStatus> {
    if !stdin {
        return Ok(());
    }
    loop {
        match port.next().await {
            StreamEvent::Data { bytes, .. } => port.write(CHANNEL_STDOUT, &bytes).await?,
            StreamEvent::Close { .. } => return Ok(()),
            StreamEvent::End(status) => return Err(status),
            StreamEvent::Resize { .. } | StreamEvent::Credit => {}
        }
    }
}
