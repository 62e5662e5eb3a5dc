//! `alerts serve` itself: the embedded default (no config file), the banner and its
//! hints (run as printed), the shutdown sequence (`/readyz` 503 first, then the
//! listener closes, the drain bounded by `shutdown_grace`), and slow clients.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{BIN, Service, Start, Workdir, eventually};

const WAIT: Duration = Duration::from_secs(30);

/// The `alerts send ...` hint of a banner (one line) and its `curl ...` hint (the
/// lines up to the one ending the `-d '...'` argument), as printed.
fn hints(banner: &str) -> (String, String) {
    let lines: Vec<&str> = banner.lines().collect();
    let send = lines
        .iter()
        .find(|l| l.trim_start().starts_with("alerts send "))
        .unwrap_or_else(|| panic!("no `alerts send` hint in\n{banner}"))
        .trim()
        .to_owned();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("curl "))
        .unwrap_or_else(|| panic!("no curl hint in\n{banner}"));
    let mut curl = Vec::new();
    for l in &lines[start..] {
        curl.push(l.trim());
        if !l.ends_with('\\') {
            break;
        }
    }
    (send, curl.join("\n"))
}

/// Runs `line` with `sh -c`, `alerts` on the PATH being the binary under test, and
/// only `env` (plus PATH and HOME) in the environment. Returns (status, stdout,
/// stderr).
async fn shell(w: &Workdir, line: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let bin = w.path().join("bin");
    if !bin.exists() {
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(BIN, bin.join("alerts")).unwrap();
    }
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c")
        .arg(line)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", w.path().join("home"))
        .current_dir(w.path())
        .kill_on_drop(true);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = tokio::time::timeout(WAIT, c.output())
        .await
        .expect("the hint finished")
        .expect("sh runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether a TCP connection to `addr` is accepted.
async fn connects(addr: &str) -> bool {
    matches!(
        tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// Waits until the service's history shows FirstAlert delivered by the embedded
/// default's console channel (after its 2 s group_wait).
async fn delivered_to_the_console(svc: &Service) {
    let (_, active) = svc.get("/api/v1/alerts").await;
    assert_eq!(active[0]["alert"]["name"], "FirstAlert", "{active}");
    assert_eq!(
        active[0]["alert"]["summary"], "Hello from alerts",
        "{active}"
    );
    let attempt = eventually(WAIT, "FirstAlert delivered by the console", || async {
        let (_, history) = svc.get("/api/v1/history").await;
        history
            .as_array()
            .and_then(|h| h.iter().find(|a| a["outcome"] == "delivered").cloned())
    })
    .await;
    assert_eq!(
        (&attempt["receiver"], &attempt["channel"]),
        (&json!("default"), &json!("console")),
        "{attempt}"
    );
}

fn curl_installed() -> bool {
    Path::new("/usr/bin/curl").exists() || Path::new("/bin/curl").exists()
}

/// No config file, no flag: the embedded default on 127.0.0.1:9095 (loopback only),
/// SQLite under `$XDG_DATA_HOME/alerts`, a console receiver, and hints that work
/// as printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_listens_on_loopback_with_working_hints() {
    let w = Workdir::new();
    let svc = match Service::start_bare(&w, &[], &[]).await {
        Ok(svc) => svc,
        Err((code, out)) => {
            // Something else holds the default port on this machine: the error still
            // proves which address the default is, and that it is loopback.
            assert_eq!(code, Some(1), "{out}");
            assert!(
                out.starts_with("alerts serve: cannot listen on 127.0.0.1:9095: "),
                "{out}"
            );
            println!("SKIPPED the rest: 127.0.0.1:9095 is in use here ({out})");
            return;
        }
    };
    let data = w.path().join("home/.local/share/alerts");
    let log = svc.log();
    assert_eq!(svc.url, "http://127.0.0.1:9095", "{log}");
    for line in [
        "alerts serve: listening on http://127.0.0.1:9095\n",
        "  config:    embedded default (no config file)\n",
        &format!(
            "  state:     SQLite at {}\n",
            data.join("alerts.db").display()
        ),
        "  receivers: default (console)\n",
        "Send a first alert from another terminal:\n",
        // The default address needs no --server.
        "  alerts send --severity warning --name FirstAlert --summary \"Hello from alerts\"\n",
        "  curl -X POST http://127.0.0.1:9095/api/v1/alerts -H 'content-type: application/json' \\\n",
    ] {
        assert!(log.contains(line), "{line:?} missing from\n{log}");
    }
    assert!(
        !log.contains("Authorization"),
        "no token, no header:\n{log}"
    );
    assert!(data.join("alerts.db").is_file(), "{log}");

    // Loopback only: the socket is bound to 127.0.0.1, so another loopback address
    // of the same machine (or any other interface) is refused.
    assert!(connects("127.0.0.1:9095").await);
    assert!(!connects("127.0.0.2:9095").await, "bound beyond 127.0.0.1");

    // The hints, run as printed.
    let (send, curl) = hints(&log);
    let (code, out, err) = shell(&w, &send, &[]).await;
    assert_eq!(code, 0, "{send}\n{out}{err}");
    delivered_to_the_console(&svc).await;
    if curl_installed() {
        let (code, out, err) = shell(&w, &curl, &[]).await;
        assert_eq!(
            (code, out.as_str()),
            (0, "{\"accepted\":1}"),
            "{curl}\n{err}"
        );
    } else {
        println!("curl is not installed: its hint was not run");
    }
    let (status, log) = svc.terminate(WAIT).await;
    assert!(status.success(), "{log}");
}

/// `ALERTS_DATA_DIR` moves the database; with tokens the hints say where the token
/// comes from (never the token), and work with it set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_data_dir_override_and_token_hints() {
    let w = Workdir::new();
    let dir = w.path().join("elsewhere");
    let token = "banner-secret-token-0123";
    let svc = Service::start_bare(
        &w,
        &["--listen", "127.0.0.1:0"],
        &[
            ("ALERTS_DATA_DIR", dir.to_str().unwrap()),
            ("ALERTS_WRITE_TOKEN", token),
        ],
    )
    .await
    .unwrap_or_else(|(c, log)| panic!("exit {c:?}: {log}"));
    let log = svc.log();
    assert!(
        log.contains(&format!(
            "  state:     SQLite at {}\n",
            dir.join("alerts.db").display()
        )),
        "{log}"
    );
    assert!(dir.join("alerts.db").is_file());
    assert!(
        !w.path().join("home/.local/share/alerts").exists(),
        "the platform data directory is not used"
    );
    let url = &svc.url;
    for line in [
        "Send a first alert from another terminal, with a write token in ALERTS_WRITE_TOKEN\n(the service needs one: tokens are configured):\n".to_owned(),
        format!("  alerts send --server {url} --severity warning --name FirstAlert --summary \"Hello from alerts\"\n"),
        format!("  curl -X POST {url}/api/v1/alerts -H 'content-type: application/json' \\\n    -H \"Authorization: Bearer $ALERTS_WRITE_TOKEN\" \\\n"),
    ] {
        assert!(log.contains(&line), "{line:?} missing from\n{log}");
    }
    assert!(!log.contains(token), "the token was printed:\n{log}");

    let (send, curl) = hints(&log);
    // Without the token the service refuses (1: a failure, not bad input) ...
    let (code, _, err) = shell(&w, &send, &[]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("401"), "{err}");
    // ... with it, as the hint says, it accepts.
    let (code, out, err) = shell(&w, &send, &[("ALERTS_WRITE_TOKEN", token)]).await;
    assert_eq!(code, 0, "{send}\n{out}{err}");
    if curl_installed() {
        let (code, out, err) = shell(&w, &curl, &[("ALERTS_WRITE_TOKEN", token)]).await;
        assert_eq!(
            (code, out.as_str()),
            (0, "{\"accepted\":1}"),
            "{curl}\n{err}"
        );
    }
    let svc = svc.with_token(token);
    delivered_to_the_console(&svc).await;
}

/// SIGTERM: `/readyz` answers 503 at once while everything else is still served
/// (`shutdown_delay`); a second signal closes the listener; the process exits 0.
/// `shutdown_delay` is an hour, so only the second signal can end the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_before_the_listener_closes() {
    let w = Workdir::new();
    let config = "[storage]\nbackend = \"memory\"\n[server]\nshutdown_delay = \"1h\"\n\
                  [[receivers]]\nname = \"c\"\nchannels = [{ type = \"console\" }]\n";
    let mut svc = Service::start(&w, config).await;
    assert_eq!(svc.get("/readyz").await, (200, json!("ready")));
    svc.sigterm();
    eventually(WAIT, "/readyz to answer 503", || async {
        let (status, body) = svc.get("/readyz").await;
        (status == 503).then_some(body)
    })
    .await;
    assert_eq!(svc.get("/readyz").await, (503, json!("shutting down")));
    // Still serving: health, and alerts (a load balancer may still send some).
    assert_eq!(svc.get("/healthz").await, (200, json!("ok")));
    let (status, body) = svc
        .post(
            "/api/v1/alerts",
            &json!({"name": "Draining", "severity": "info"}),
        )
        .await;
    assert_eq!((status, body), (202, json!({"accepted": 1})));
    assert!(svc.running());
    eventually(WAIT, "the shutdown_delay log line", || async {
        svc.log()
            .contains("still serving for shutdown_delay")
            .then_some(())
    })
    .await;

    // A second signal ends the wait: the listener closes and the process exits.
    svc.sigterm();
    let addr = svc.host_port().to_owned();
    eventually(WAIT, "the listener to close", || async {
        (!connects(&addr).await).then_some(())
    })
    .await;
    let (status, log) = svc.wait_exit(WAIT).await;
    assert!(status.success(), "{log}");
    assert!(log.contains("second signal"), "{log}");
}

/// A request still in progress when the listener closes gets `shutdown_grace`, not
/// more: a client that never sends its body does not hold the shutdown (its
/// connection is dropped unanswered), whatever `request_timeout` says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_drain_is_bounded_by_shutdown_grace() {
    let w = Workdir::new();
    let config = "[storage]\nbackend = \"memory\"\n[server]\nshutdown_grace = \"1s\"\n\
                  request_timeout = \"1h\"\n\
                  [[receivers]]\nname = \"c\"\nchannels = [{ type = \"console\" }]\n";
    let svc = Service::start(&w, config).await;
    let mut conn = tokio::net::TcpStream::connect(svc.host_port())
        .await
        .unwrap();
    // A head announcing 100 bytes, asking to be told to send them: the service says
    // `100 Continue` once the handler reads the body, so the request is known to be
    // in progress before the signal.
    conn.write_all(
        b"POST /api/v1/alerts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
          content-length: 100\r\nexpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, conn.read(&mut byte))
            .await
            .expect("an interim answer")
            .unwrap();
        assert_eq!(n, 1, "closed early: {}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    assert_eq!(got, b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.write_all(b"{\"name\": ").await.unwrap();
    let (status, log) = svc.terminate(WAIT).await;
    assert!(status.success(), "{log}");
    assert!(
        log.contains("requests still running when shutdown_grace ended"),
        "{log}"
    );
    // The stalled client got no answer: its connection was closed.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(WAIT, conn.read_to_end(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "{read:?} {}",
        String::from_utf8_lossy(&buf)
    );
}

/// Slow clients (slowloris): a connection that does not finish its request head
/// within `request_timeout` is closed, so is an idle keep-alive connection, and a
/// body that does not arrive in time gets 408. The test waits for those events (up
/// to 30 s), not for the 1 s timeout itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_by_request_timeout() {
    let w = Workdir::new();
    let config = "[storage]\nbackend = \"memory\"\n[server]\nrequest_timeout = \"1s\"\n\
                  [[receivers]]\nname = \"c\"\nchannels = [{ type = \"console\" }]\n";
    let svc = Service::start_with(&w, config, Start::default())
        .await
        .unwrap_or_else(|(c, log)| panic!("exit {c:?}: {log}"));
    let read_all = |mut conn: tokio::net::TcpStream| async move {
        let mut buf = Vec::new();
        let r = tokio::time::timeout(WAIT, conn.read_to_end(&mut buf)).await;
        (r, String::from_utf8_lossy(&buf).into_owned())
    };

    // Half a request head, then nothing: closed without an answer.
    let mut head = tokio::net::TcpStream::connect(svc.host_port())
        .await
        .unwrap();
    head.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let (r, text) = read_all(head).await;
    assert!(r.is_ok(), "the half-sent head still holds its connection");
    assert!(!text.contains("200 OK"), "{text}");

    // Connected, nothing sent: closed too.
    let idle = tokio::net::TcpStream::connect(svc.host_port())
        .await
        .unwrap();
    let (r, text) = read_all(idle).await;
    assert!(r.is_ok(), "an idle connection is held");
    assert_eq!(text, "");

    // A head, and a body that never comes: 408, naming the timeout.
    let mut body = tokio::net::TcpStream::connect(svc.host_port())
        .await
        .unwrap();
    body.write_all(
        b"POST /api/v1/alerts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{\"name\"",
    )
    .await
    .unwrap();
    let (r, text) = read_all(body).await;
    assert!(r.is_ok(), "the stalled body holds its connection");
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );
    let json = &text[text.find("\r\n\r\n").expect("a body") + 4..];
    let v: Value = serde_json::from_str(json).expect("a JSON error");
    assert_eq!(
        v,
        json!({"error": {"status": 408, "message": "the body did not arrive within 1s (request_timeout)"}})
    );

    // Prompt clients are served as usual.
    assert_eq!(svc.get("/healthz").await, (200, json!("ok")));
}
