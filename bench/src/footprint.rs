//! Workload 4, footprint: `gallra run` (daemon mode) with four plugins loaded (the SQL
//! connector on the account source, and the Mailchimp, Zendesk and WHMCS connectors) and
//! nothing to do. Time from spawn to READY=1 on a NOTIFY_SOCKET the harness binds, then RSS
//! and context switches (voluntary and not, summed over every thread) across an idle
//! window, then SIGTERM.

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::{self, Backend};
use crate::measure;
use crate::report::{Figure, Section};
use crate::systems::{self, Population, PANEL};
use crate::Harness;

/// The plugins loaded besides `sql`.
const HTTP_PLUGINS: [&str; 3] = ["mailchimp", "zendesk", "whmcs"];

pub fn run(h: &Harness) -> Result<Section> {
    for plugin in HTTP_PLUGINS {
        h.require_plugin(plugin)?;
    }
    let dir = h.scratch("footprint")?;
    let config_path = write_config(&dir)?;
    let idle = if h.quick {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(10)
    };
    let (mut ready_ms, mut rss, mut wakeups) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..h.runs {
        let m = one_run(h, &dir, &config_path, idle)?;
        println!(
            "  READY=1 after {:.0} ms, RSS {:.1} MiB, {:.2} context switches/s",
            m.ready_ms, m.rss_mib, m.switches_per_sec
        );
        ready_ms.push(m.ready_ms);
        rss.push(m.rss_mib);
        wakeups.push(m.switches_per_sec);
    }
    let figures = vec![
        Figure::new("idle RSS, four plugins loaded", "MiB", &rss).target(20.0),
        Figure::new("wake-ups while idle (context switches)", "/s", &wakeups).target(1.0),
        Figure::new("spawn to READY=1", "ms", &ready_ms).target(200.0),
    ];
    for f in &figures {
        f.print();
    }
    h.done_with(&dir);
    Ok(h.section(
        "footprint",
        "4. Footprint",
        &format!(
            "`gallra run` (daemon mode, release build) with four systems on four plugins: `sql` \
             (the account source, a SQLite file), `mailchimp`, `zendesk` and `whmcs` (pointed at a \
             closed local port; idle, they make no request), one policy scheduled yearly, no admin \
             API. READY=1 is timed from spawn to its arrival on a NOTIFY_SOCKET the harness binds. \
             RSS is VmRSS at the end of a {} s idle window that starts 1 s after READY=1; wake-ups \
             are the voluntary plus involuntary context switches of every thread \
             (/proc/PID/task/*/status) over that window, per second.",
            idle.as_secs()
        ),
        figures,
    ))
}

struct Idle {
    ready_ms: f64,
    rss_mib: f64,
    switches_per_sec: f64,
}

fn one_run(h: &Harness, dir: &Path, config_path: &Path, idle: Duration) -> Result<Idle> {
    let socket_path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&socket_path);
    let socket = UnixDatagram::bind(&socket_path)?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    let _ = std::fs::remove_dir_all(dir.join("state"));
    let started = Instant::now();
    let mut child = Command::new(h.gallra())
        .args(["run", "--config"])
        .arg(config_path)
        .env("NOTIFY_SOCKET", &socket_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting gallra run")?;
    let pid = child.id();
    let result = (|| -> Result<Idle> {
        let mut buf = [0u8; 4096];
        let ready_ms = loop {
            let n = socket
                .recv(&mut buf)
                .context("no READY=1 from gallra within 10 s")?;
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
            {
                break started.elapsed().as_secs_f64() * 1000.0;
            }
        };
        std::thread::sleep(Duration::from_secs(1));
        let before = switches(pid)?;
        std::thread::sleep(idle);
        let after = switches(pid)?;
        let rss_mib = measure::vm_rss_kib(pid)? as f64 / 1024.0;
        // Threads that exited in the window took their counts with them: count only what
        // each thread present at the end did since the start (or since it began).
        let delta: u64 = after
            .iter()
            .map(|(tid, n)| n - before.get(tid).copied().unwrap_or(0).min(*n))
            .sum();
        Ok(Idle {
            ready_ms,
            rss_mib,
            switches_per_sec: delta as f64 / idle.as_secs_f64(),
        })
    })();
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let (code, _) = measure::wait4(pid)?;
    drop(child.stdin.take());
    let idle = result?;
    if code != 0 {
        bail!("gallra run exited with {code} after SIGTERM");
    }
    Ok(idle)
}

/// Context switches per thread of `pid`.
fn switches(pid: u32) -> Result<HashMap<String, u64>> {
    let mut out = HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let task = task?;
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // exited meanwhile
        };
        let n: u64 = status
            .lines()
            .filter(|l| {
                l.starts_with("voluntary_ctxt_switches")
                    || l.starts_with("nonvoluntary_ctxt_switches")
            })
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        out.insert(task.file_name().to_string_lossy().into_owned(), n);
    }
    Ok(out)
}

fn write_config(dir: &Path) -> Result<std::path::PathBuf> {
    let db = dir.join("panel.db");
    systems::create_sqlite(
        &db,
        PANEL,
        Population {
            subjects: 1_000,
            inactive_per_mille: 50,
        },
    )?;
    let key = |name: &str| -> Result<String> {
        let path = dir.join(name);
        config::secret(&path, "0123456789abcdef0123456789abcdef-us1")?;
        Ok(config::quoted(&path.display().to_string()))
    };
    // Port 9 (discard) is closed here: an idle connector must not need its server.
    let closed = "http://127.0.0.1:9";
    let mut text = config::header(&dir.join("state"), "panel");
    text += &config::system(PANEL, Backend::Sqlite(&db), 4);
    text += &format!(
        "[systems.mail]\nplugin = \"mailchimp\"\n[systems.mail.settings]\napi_key_file = {}\nbase_url = \"{closed}/3.0\"\n\n",
        key("mailchimp.key")?
    );
    text += &format!(
        "[systems.desk]\nplugin = \"zendesk\"\n[systems.desk.settings]\nbase_url = \"{closed}\"\nemail = \"gallra@example.se\"\napi_token_file = {}\n\n",
        key("zendesk.token")?
    );
    text += &format!(
        "[systems.whmcs]\nplugin = \"whmcs\"\n[systems.whmcs.settings]\nbase_url = \"{closed}\"\nidentifier = \"gallra\"\nsecret_file = {}\n\n",
        key("whmcs.secret")?
    );
    text += &config::inactivity_policy("report", &["panel"]);
    text += "schedule = \"0 0 3 1 1 *\"\n";
    let path = dir.join("gallra.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}
