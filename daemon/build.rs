//! Records the source revision gallra is built from, for `gallra --version` and
//! `gallra_build_info`: `GALLRA_REVISION` if the packager sets it, else the commit git reports
//! for this checkout, else `unknown` (a source tarball without git). Written by hand: it is
//! one `git` call, for which a crate would bring more than it saves.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GALLRA_REVISION");
    let git = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.git");
    if git.is_dir() {
        // A new commit moves HEAD or the branch it points at.
        println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(branch) = head.trim().strip_prefix("ref: ") {
                println!("cargo:rerun-if-changed={}", git.join(branch).display());
            }
        }
    }
    let revision = std::env::var("GALLRA_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=GALLRA_REVISION={revision}");
}

fn git_revision() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let revision = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !revision.is_empty()).then_some(revision)
}
