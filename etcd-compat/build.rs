//! Generates the etcd v3 gRPC stubs. Uses the system `protoc` when there is one
//! (scripts/test-deps.sh installs Debian's), else the vendored binary, so a
//! plain `cargo build` works on a fresh machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let have_protoc = std::env::var_os("PROTOC").is_some()
        || std::process::Command::new("protoc").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have_protoc {
        std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    }
    tonic_prost_build::configure().build_server(true).build_client(true).compile_protos(
        &[
            "proto/etcd/api/authpb/auth.proto",
            "proto/etcd/api/etcdserverpb/rpc.proto",
            "proto/etcd/api/mvccpb/kv.proto",
            "proto/capstan/command.proto",
            "proto/capstan/peer.proto",
        ],
        &["proto"],
    )?;
    Ok(())
}
