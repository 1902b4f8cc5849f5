//! Running the real `gallra` binary against a config.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::binaries::gallra_bin;

/// The `gallra` binary bound to one config file.
pub struct Gallra {
    config: PathBuf,
}

/// What one invocation gave.
pub struct Outcome {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// Standard output parsed as JSON (panics with both streams if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl From<Output> for Outcome {
    fn from(output: Output) -> Self {
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Gallra {
    /// `gallra` with `--config path`.
    pub fn new(config: &Path) -> Self {
        Gallra {
            config: config.to_path_buf(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(gallra_bin());
        command
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env("GALLRA_LOG", "info");
        command
    }

    /// Runs `gallra ARGS --config …` to the end.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.command(args).output().expect("gallra starts").into()
    }

    /// Runs `gallra run --once --json` and gives its report (one element a run), panicking
    /// unless it exits with `code`.
    pub fn run_once(&self, code: i32) -> serde_json::Value {
        self.run(&["run", "--once", "--json"])
            .expect_code(code)
            .json()
    }

    /// Runs it with extra environment (e.g. `GALLRA_LOG=debug`).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        self.command(args)
            .envs(env.iter().copied())
            .output()
            .expect("gallra starts")
            .into()
    }

    /// Starts `gallra ARGS --config …` in the background with its output captured, to run
    /// beside another; `wait_with_output` gives what it printed.
    pub fn start(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gallra starts")
    }

    /// Starts `gallra ARGS --config …` in the background (to kill it part-way).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gallra starts")
    }
}
