//! Auth through the gRPC API: enabling, tokens, root bypass and key-range
//! permissions on get, put, delete and txn, with etcd's error codes and texts.

use etcd_compat::proto::authpb::permission::Type as PermType;
use etcd_compat::proto::authpb::{Permission, UserAddOptions};
use etcd_compat::proto::capstanpb::command::Op;
use etcd_compat::proto::capstanpb::Command;
use etcd_compat::proto::etcdserverpb::auth_client::AuthClient;
use etcd_compat::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_compat::proto::etcdserverpb::request_op::Request as Op1;
use etcd_compat::proto::etcdserverpb::*;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use crate::cluster::Cluster;

/// A request carrying `token` ("" = none).
fn with<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    if !token.is_empty() {
        r.metadata_mut().insert("token", token.parse().unwrap());
    }
    r
}

fn assert_err(s: Status, code: Code, msg: &str) {
    assert_eq!((s.code(), s.message()), (code, msg));
}

fn put(k: &str, v: &str) -> PutRequest {
    PutRequest { key: k.into(), value: v.into(), ..Default::default() }
}

fn get(k: &str, end: &str) -> RangeRequest {
    RangeRequest { key: k.into(), range_end: end.into(), ..Default::default() }
}

async fn user_add(a: &mut AuthClient<Channel>, name: &str, pw: &str, token: &str) {
    let r = AuthUserAddRequest { name: name.into(), password: pw.into(), ..Default::default() };
    a.user_add(with(r, token)).await.unwrap();
}

async fn login(a: &mut AuthClient<Channel>, name: &str, pw: &str) -> String {
    a.authenticate(AuthenticateRequest { name: name.into(), password: pw.into() }).await.unwrap().into_inner().token
}

/// root:rpw with the root role, auth on; returns root's token.
async fn enable(a: &mut AuthClient<Channel>) -> String {
    user_add(a, "root", "rpw", "").await;
    a.user_grant_role(AuthUserGrantRoleRequest { user: "root".into(), role: "root".into() }).await.unwrap();
    a.auth_enable(AuthEnableRequest {}).await.unwrap();
    login(a, "root", "rpw").await
}

/// alice:apw reading "k" and reading/writing prefix "p/"; returns her token.
async fn alice(a: &mut AuthClient<Channel>, root: &str) -> String {
    user_add(a, "alice", "apw", root).await;
    a.role_add(with(AuthRoleAddRequest { name: "r".into() }, root)).await.unwrap();
    for (t, k, e) in [(PermType::Read, "k", ""), (PermType::Readwrite, "p/", "p0")] {
        let perm = Permission { perm_type: t as i32, key: k.into(), range_end: e.into() };
        let r = AuthRoleGrantPermissionRequest { name: "r".into(), perm: Some(perm) };
        a.role_grant_permission(with(r, root)).await.unwrap();
    }
    a.user_grant_role(with(AuthUserGrantRoleRequest { user: "alice".into(), role: "r".into() }, root)).await.unwrap();
    login(a, "alice", "apw").await
}

#[tokio::test]
async fn enable_flow_and_status() {
    let c = Cluster::new(1).await;
    let mut a = c.auth(0).await;
    let e = a.auth_enable(AuthEnableRequest {}).await.unwrap_err();
    assert_err(e, Code::FailedPrecondition, "etcdserver: root user does not exist");
    user_add(&mut a, "root", "rpw", "").await;
    let e = a.auth_enable(AuthEnableRequest {}).await.unwrap_err();
    assert_err(e, Code::FailedPrecondition, "etcdserver: root user does not have root role");
    let e = a.authenticate(AuthenticateRequest { name: "root".into(), password: "rpw".into() }).await.unwrap_err();
    assert_err(e, Code::FailedPrecondition, "etcdserver: authentication is not enabled");
    a.user_grant_role(AuthUserGrantRoleRequest { user: "root".into(), role: "root".into() }).await.unwrap();
    let st = a.auth_status(AuthStatusRequest {}).await.unwrap().into_inner();
    assert_eq!((st.enabled, st.auth_revision), (false, 3));
    a.auth_enable(AuthEnableRequest {}).await.unwrap();

    // Without a token everything that needs a user is refused.
    let e = a.auth_status(AuthStatusRequest {}).await.unwrap_err();
    assert_err(e, Code::InvalidArgument, "etcdserver: user name is empty");
    let e = c.kv(0).await.range(get("k", "")).await.unwrap_err();
    assert_err(e, Code::InvalidArgument, "etcdserver: user name is empty");
    // A lease needs no permission.
    c.lease(0).await.lease_grant(LeaseGrantRequest { ttl: 10, id: 0 }).await.unwrap();

    let e = a.authenticate(AuthenticateRequest { name: "root".into(), password: "bad".into() }).await.unwrap_err();
    assert_err(e, Code::InvalidArgument, "etcdserver: authentication failed, invalid user ID or password");
    let root = login(&mut a, "root", "rpw").await;
    let (prefix, index) = root.split_once('.').unwrap();
    assert_eq!(prefix.len(), 16);
    index.parse::<u64>().unwrap();
    let st = a.auth_status(with(AuthStatusRequest {}, &root)).await.unwrap().into_inner();
    assert_eq!((st.enabled, st.auth_revision), (true, 3));
    assert!(st.header.unwrap().member_id != 0);

    a.auth_disable(with(AuthDisableRequest {}, &root)).await.unwrap();
    let st = a.auth_status(AuthStatusRequest {}).await.unwrap().into_inner();
    assert_eq!((st.enabled, st.auth_revision), (false, 4));
    // Disabling dropped the token.
    let e = c.kv(0).await.range(with(get("k", ""), &root)).await.unwrap_err();
    assert_err(e, Code::Unauthenticated, "etcdserver: invalid auth token");
}

#[tokio::test]
async fn root_bypasses_permissions() {
    let c = Cluster::new(1).await;
    let mut a = c.auth(0).await;
    let root = enable(&mut a).await;
    let mut kv = c.kv(0).await;
    kv.put(with(put("any", "1"), &root)).await.unwrap();
    let got = kv.range(with(get("\0", "\0"), &root)).await.unwrap().into_inner();
    assert_eq!(got.count, 1);
    let users = a.user_list(with(AuthUserListRequest {}, &root)).await.unwrap().into_inner().users;
    assert_eq!(users, vec!["root".to_string()]);
    let e = a.user_delete(with(AuthUserDeleteRequest { name: "root".into() }, &root)).await.unwrap_err();
    assert_err(e, Code::InvalidArgument, "etcdserver: invalid auth management");
}

#[tokio::test]
async fn range_permissions_allow_and_deny() {
    let c = Cluster::new(1).await;
    let mut a = c.auth(0).await;
    let root = enable(&mut a).await;
    let tok = alice(&mut a, &root).await;
    let mut kv = c.kv(0).await;
    kv.put(with(put("k", "v"), &root)).await.unwrap();

    let denied = |e: Status| assert_err(e, Code::PermissionDenied, "etcdserver: permission denied");
    // get
    assert_eq!(kv.range(with(get("k", ""), &tok)).await.unwrap().into_inner().count, 1);
    denied(kv.range(with(get("k", "l"), &tok)).await.unwrap_err());
    denied(kv.range(with(get("\0", "\0"), &tok)).await.unwrap_err());
    kv.range(with(get("p/", "p0"), &tok)).await.unwrap();
    // put
    denied(kv.put(with(put("k", "x"), &tok)).await.unwrap_err());
    kv.put(with(put("p/a", "1"), &tok)).await.unwrap();
    // A prev_kv needs read permission too; alice can read p/ so this passes.
    kv.put(with(PutRequest { prev_kv: true, ..put("p/a", "2") }, &tok)).await.unwrap();
    // delete
    denied(
        kv.delete_range(with(DeleteRangeRequest { key: "k".into(), ..Default::default() }, &tok)).await.unwrap_err(),
    );
    let d = DeleteRangeRequest { key: "p/".into(), range_end: "p0".into(), prev_kv: true };
    assert_eq!(kv.delete_range(with(d, &tok)).await.unwrap().into_inner().deleted, 1);

    // txn: compares read, branches read or write.
    let cmp = |k: &str| Compare {
        key: k.into(),
        result: CompareResult::Equal as i32,
        target: CompareTarget::Value as i32,
        target_union: Some(TargetUnion::Value(b"v".to_vec())),
        ..Default::default()
    };
    let op_put = |k: &str| RequestOp { request: Some(Op1::RequestPut(put(k, "t"))) };
    let op_get = |k: &str| RequestOp { request: Some(Op1::RequestRange(get(k, ""))) };
    let ok = TxnRequest { compare: vec![cmp("k")], success: vec![op_put("p/t")], failure: vec![op_get("k")] };
    assert!(kv.txn(with(ok, &tok)).await.unwrap().into_inner().succeeded);
    let bad_cmp = TxnRequest { compare: vec![cmp("q")], success: vec![op_put("p/t")], failure: vec![] };
    denied(kv.txn(with(bad_cmp, &tok)).await.unwrap_err());
    // Denied even though the failure branch (with the forbidden put) would not run.
    let bad_branch = TxnRequest { compare: vec![cmp("k")], success: vec![op_get("k")], failure: vec![op_put("k")] };
    denied(kv.txn(with(bad_branch, &tok)).await.unwrap_err());
    let got = kv.range(with(get("p/t", ""), &root)).await.unwrap().into_inner();
    assert_eq!(got.kvs[0].value, b"t");

    // Management needs root; a user may read itself and its roles.
    denied(a.user_list(with(AuthUserListRequest {}, &tok)).await.unwrap_err());
    denied(a.role_add(with(AuthRoleAddRequest { name: "x".into() }, &tok)).await.unwrap_err());
    let me = a.user_get(with(AuthUserGetRequest { name: "alice".into() }, &tok)).await.unwrap().into_inner();
    assert_eq!(me.roles, vec!["r".to_string()]);
    denied(a.user_get(with(AuthUserGetRequest { name: "root".into() }, &tok)).await.unwrap_err());
    let perms = a.role_get(with(AuthRoleGetRequest { role: "r".into() }, &tok)).await.unwrap().into_inner().perm;
    assert_eq!(perms.len(), 2);

    // Revoking the role takes effect at once.
    let r = AuthUserRevokeRoleRequest { name: "alice".into(), role: "r".into() };
    a.user_revoke_role(with(r, &root)).await.unwrap();
    denied(kv.range(with(get("k", ""), &tok)).await.unwrap_err());
}

#[tokio::test]
async fn invalid_tokens_are_refused() {
    let c = Cluster::new(1).await;
    let mut a = c.auth(0).await;
    let root = enable(&mut a).await;
    let tok = alice(&mut a, &root).await;
    let mut kv = c.kv(0).await;
    let invalid = |e: Status| assert_err(e, Code::Unauthenticated, "etcdserver: invalid auth token");
    invalid(kv.range(with(get("k", ""), "bogus")).await.unwrap_err());
    invalid(kv.put(with(put("p/a", "1"), "abcdefghijklmnop.99999")).await.unwrap_err());
    invalid(a.user_list(with(AuthUserListRequest {}, "nope.1")).await.unwrap_err());

    // A password change or delete invalidates the user's tokens.
    kv.range(with(get("k", ""), &tok)).await.unwrap();
    let r = AuthUserChangePasswordRequest { name: "alice".into(), password: "new".into(), ..Default::default() };
    a.user_change_password(with(r, &root)).await.unwrap();
    invalid(kv.range(with(get("k", ""), &tok)).await.unwrap_err());
    let e = a.authenticate(AuthenticateRequest { name: "alice".into(), password: "apw".into() }).await.unwrap_err();
    assert_err(e, Code::InvalidArgument, "etcdserver: authentication failed, invalid user ID or password");
    let tok = login(&mut a, "alice", "new").await;
    kv.range(with(get("k", ""), &tok)).await.unwrap();
    a.user_delete(with(AuthUserDeleteRequest { name: "alice".into() }, &root)).await.unwrap();
    invalid(kv.range(with(get("k", ""), &tok)).await.unwrap_err());

    // A user without a password cannot log in.
    let r = AuthUserAddRequest {
        name: "np".into(),
        options: Some(UserAddOptions { no_password: true }),
        ..Default::default()
    };
    a.user_add(with(r, &root)).await.unwrap();
    let e = a.authenticate(AuthenticateRequest { name: "np".into(), password: "x".into() }).await.unwrap_err();
    assert_err(e, Code::Unknown, "auth: authentication failed, password was given for no password user");
}

#[tokio::test]
async fn apply_rechecks_the_proposer() {
    let c = Cluster::new(1).await;
    let mut a = c.auth(0).await;
    let root = enable(&mut a).await;
    alice(&mut a, &root).await;
    let node = c.node(0);
    let as_alice = |op: Op| Command { op: Some(op), user: "alice".into() };
    node.propose(as_alice(Op::Put(put("p/x", "1")))).await.unwrap();
    let e = node.propose(as_alice(Op::Put(put("k", "1")))).await.unwrap_err();
    assert_eq!(e, etcd_compat::Error::PermissionDenied);
    let e = node.propose(as_alice(Op::RoleAdd(AuthRoleAddRequest { name: "x".into() }))).await.unwrap_err();
    assert_eq!(e, etcd_compat::Error::PermissionDenied);
    // Internal commands (no user) pass.
    node.propose(Command { op: Some(Op::Put(put("k", "1"))), user: String::new() }).await.unwrap();
}

#[tokio::test]
async fn denied_watch_is_cancelled_with_grpc_error_text() {
    use etcd_compat::proto::etcdserverpb::watch_client::WatchClient;
    use etcd_compat::proto::etcdserverpb::watch_request::RequestUnion;
    let c = Cluster::new(1).await;
    let mut a = c.auth(0).await;
    let root = enable(&mut a).await;
    let tok = alice(&mut a, &root).await;
    let mut w = WatchClient::new(c.channel(0).await);
    let create = WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest { key: "zz".into(), ..Default::default() })),
    };
    let mut stream = w.watch(with(futures::stream::iter(vec![create]), &tok)).await.unwrap().into_inner();
    let resp = stream.message().await.unwrap().unwrap();
    assert!(resp.created && resp.canceled);
    // etcd sends the full gRPC error string as the reason.
    assert_eq!(resp.cancel_reason, "rpc error: code = PermissionDenied desc = etcdserver: permission denied");
}
