//! Test support shared by unit tests in several modules.

/// Runs `scripts/<script> --check` against k8s-pb `version`'s source in the
/// cargo registry and asserts the committed generated file is current
/// (skipped, saying so, when python3 or the source is not on this machine).
pub(crate) fn assert_k8s_pb_generator_fresh(script: &str, version: &str) {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(src) = home
        .and_then(|h| std::fs::read_dir(h.join("registry").join("src")).ok())
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join(format!("k8s-pb-{version}")).join("src"))
        .find(|p| p.is_dir())
    else {
        eprintln!("k8s-pb source not found; skipping the generator check");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts").join(script))
        .arg("--check")
        .arg("--src")
        .arg(&src)
        .output();
    let Ok(out) = out else {
        eprintln!("python3 not available; skipping the generator check");
        return;
    };
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
