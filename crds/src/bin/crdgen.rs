//! `crdgen`: writes Capstan's CRDs as YAML to `crds/yaml/` and `charts/capstan/crds/`.
//!
//! `crdgen` rewrites both folders; `crdgen --check` changes nothing and exits 1, listing
//! the stale files, when the committed YAML differs from the types. Run via `make crdgen`.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use capstan_crds::render::{check_dir, render_all, repo_root, write_dir, OUTPUT_DIRS};

fn main() -> Result<ExitCode> {
    let mut check = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: crdgen [--check]\n\nWrites the CRD YAML to {OUTPUT_DIRS:?}; --check only reports stale files.");
                return Ok(ExitCode::SUCCESS);
            }
            other => bail!("unknown argument {other:?} (usage: crdgen [--check])"),
        }
    }

    let root = repo_root();
    let rendered = render_all();
    let mut stale = Vec::new();
    for dir in OUTPUT_DIRS {
        let dir = root.join(dir);
        let paths = if check { check_dir(&dir, &rendered) } else { write_dir(&dir, &rendered) }
            .with_context(|| format!("processing {}", dir.display()))?;
        stale.extend(paths);
    }

    let show = |p: &std::path::PathBuf| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    if check {
        if stale.is_empty() {
            println!("crdgen: {} CRDs up to date", rendered.len());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("crdgen: stale generated files (run `make crdgen`):");
        for path in &stale {
            eprintln!("  {}", show(path));
        }
        return Ok(ExitCode::FAILURE);
    }
    for path in &stale {
        println!("crdgen: updated {}", show(path));
    }
    println!("crdgen: {} CRDs, {} files changed", rendered.len(), stale.len());
    Ok(ExitCode::SUCCESS)
}
