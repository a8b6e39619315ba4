//! Auth store behaviour against etcd's: errors, revision bumps, root rules,
//! permission checks and persistence through the write batch.

use super::*;
use crate::error::Error;
use crate::proto::authpb::permission::Type as PermType;
use crate::proto::authpb::{Permission, UserAddOptions};
use crate::proto::etcdserverpb::*;
use crate::storage::{Engine, MemoryEngine, WriteBatch};

fn add_user(s: &AuthStore, b: &mut WriteBatch, name: &str) -> crate::error::Result<()> {
    let hashed_password = bcrypt::hash("pw", 4).unwrap();
    s.user_add(&AuthUserAddRequest { name: name.into(), hashed_password, ..Default::default() }, b)
}

fn grant(s: &AuthStore, b: &mut WriteBatch, role: &str, t: PermType, key: &str, end: &str) {
    let perm = Permission { perm_type: t as i32, key: key.into(), range_end: end.into() };
    s.role_grant_permission(&AuthRoleGrantPermissionRequest { name: role.into(), perm: Some(perm) }, b).unwrap();
}

fn grant_role(s: &AuthStore, b: &mut WriteBatch, user: &str, role: &str) -> crate::error::Result<()> {
    s.user_grant_role(&AuthUserGrantRoleRequest { user: user.into(), role: role.into() }, b)
}

fn enabled_store() -> (AuthStore, WriteBatch) {
    let s = AuthStore::empty(4);
    let mut b = WriteBatch::default();
    add_user(&s, &mut b, "root").unwrap();
    grant_role(&s, &mut b, "root", "root").unwrap();
    s.enable(&mut b).unwrap();
    (s, b)
}

#[test]
fn enable_needs_root_user_with_root_role() {
    let s = AuthStore::empty(4);
    let mut b = WriteBatch::default();
    assert_eq!(s.enable(&mut b), Err(Error::RootUserNotExist));
    add_user(&s, &mut b, "root").unwrap();
    assert_eq!(s.enable(&mut b), Err(Error::RootRoleNotExist));
    // The root role need not exist as a role to be granted.
    grant_role(&s, &mut b, "root", "root").unwrap();
    assert_eq!(s.revision(), 3);
    s.enable(&mut b).unwrap();
    assert!(s.is_enabled());
    // Enabling does not bump the revision; enabling again is a no-op.
    assert_eq!(s.revision(), 3);
    s.enable(&mut b).unwrap();
    s.disable(&mut b).unwrap();
    assert_eq!(s.revision(), 4);
    s.disable(&mut b).unwrap();
    assert_eq!(s.revision(), 4);
}

#[test]
fn user_and_role_errors_match_etcd() {
    let (s, mut b) = enabled_store();
    assert_eq!(add_user(&s, &mut b, ""), Err(Error::UserEmpty));
    assert_eq!(add_user(&s, &mut b, "root"), Err(Error::UserAlreadyExists));
    assert_eq!(grant_role(&s, &mut b, "nobody", "r"), Err(Error::UserNotFound));
    assert_eq!(grant_role(&s, &mut b, "root", "r"), Err(Error::RoleNotFound));
    assert_eq!(s.role_add(&AuthRoleAddRequest { name: String::new() }, &mut b), Err(Error::RoleEmpty));
    s.role_add(&AuthRoleAddRequest { name: "r".into() }, &mut b).unwrap();
    assert_eq!(s.role_add(&AuthRoleAddRequest { name: "r".into() }, &mut b), Err(Error::RoleAlreadyExists));
    let rev = s.revision();
    // Granting a role twice succeeds without a new revision.
    grant_role(&s, &mut b, "root", "r").unwrap();
    grant_role(&s, &mut b, "root", "r").unwrap();
    assert_eq!(s.revision(), rev + 1);
    assert_eq!(s.user_get("root").unwrap(), vec!["r".to_string(), "root".to_string()]);
    let revoke = |user: &str, role: &str, b: &mut WriteBatch| {
        s.user_revoke_role(&AuthUserRevokeRoleRequest { name: user.into(), role: role.into() }, b)
    };
    assert_eq!(revoke("root", "root", &mut b), Err(Error::InvalidAuthMgmt));
    revoke("root", "r", &mut b).unwrap();
    assert_eq!(revoke("root", "r", &mut b), Err(Error::RoleNotGranted));
    assert_eq!(s.user_delete(&AuthUserDeleteRequest { name: "root".into() }, &mut b), Err(Error::InvalidAuthMgmt));
    assert_eq!(s.role_delete(&AuthRoleDeleteRequest { role: "root".into() }, &mut b), Err(Error::InvalidAuthMgmt));
    assert_eq!(s.user_delete(&AuthUserDeleteRequest { name: "x".into() }, &mut b), Err(Error::UserNotFound));
    assert_eq!(s.role_delete(&AuthRoleDeleteRequest { role: "x".into() }, &mut b), Err(Error::RoleNotFound));
    let no_perm = AuthRoleGrantPermissionRequest { name: "r".into(), perm: None };
    assert_eq!(s.role_grant_permission(&no_perm, &mut b), Err(Error::PermissionNotGiven));
    let revoke_perm = AuthRoleRevokePermissionRequest { role: "r".into(), key: b"k".to_vec(), range_end: vec![] };
    assert_eq!(s.role_revoke_permission(&revoke_perm, &mut b), Err(Error::PermissionNotGranted));
}

#[test]
fn permissions_sorted_and_updated_in_place() {
    let (s, mut b) = enabled_store();
    s.role_add(&AuthRoleAddRequest { name: "r".into() }, &mut b).unwrap();
    grant(&s, &mut b, "r", PermType::Read, "foo", "");
    grant(&s, &mut b, "r", PermType::Write, "a", "c");
    grant(&s, &mut b, "r", PermType::Readwrite, "foo", "");
    let keys: Vec<(Vec<u8>, i32)> = s.role_get("r").unwrap().into_iter().map(|p| (p.key, p.perm_type)).collect();
    assert_eq!(keys, vec![(b"a".to_vec(), PermType::Write as i32), (b"foo".to_vec(), PermType::Readwrite as i32)]);
}

#[test]
fn checks_follow_roles() {
    let (s, mut b) = enabled_store();
    add_user(&s, &mut b, "alice").unwrap();
    s.role_add(&AuthRoleAddRequest { name: "r".into() }, &mut b).unwrap();
    grant(&s, &mut b, "r", PermType::Read, "k", "");
    grant(&s, &mut b, "r", PermType::Readwrite, "p/", "p0");
    grant_role(&s, &mut b, "alice", "r").unwrap();

    assert_eq!(s.check("", &[Access::read(b"k", b"")]), Err(Error::UserEmpty));
    assert_eq!(s.check("", &[]), Ok(()));
    assert_eq!(s.check("alice", &[Access::read(b"k", b"")]), Ok(()));
    assert_eq!(s.check("alice", &[Access::write(b"k", b"")]), Err(Error::PermissionDenied));
    assert_eq!(s.check("alice", &[Access::write(b"p/x", b""), Access::read(b"p/", b"p0")]), Ok(()));
    assert_eq!(s.check("alice", &[Access::read(b"p", b"\0")]), Err(Error::PermissionDenied));
    assert_eq!(s.check("alice", &[Access::Admin]), Err(Error::PermissionDenied));
    assert_eq!(s.check("ghost", &[Access::read(b"k", b"")]), Err(Error::PermissionDenied));
    assert_eq!(s.check("ghost", &[Access::Admin]), Err(Error::UserNotFound));
    assert_eq!(s.check("root", &[Access::Admin, Access::write(b"\0", b"\0")]), Ok(()));

    // Deleting the role takes it from alice.
    s.role_delete(&AuthRoleDeleteRequest { role: "r".into() }, &mut b).unwrap();
    assert_eq!(s.user_get("alice").unwrap(), Vec::<String>::new());
    assert_eq!(s.check("alice", &[Access::read(b"k", b"")]), Err(Error::PermissionDenied));

    // With auth off everything passes.
    s.disable(&mut b).unwrap();
    assert_eq!(s.check("", &[Access::Admin]), Ok(()));
}

#[test]
fn authenticate_and_tokens() {
    let (s, mut b) = enabled_store();
    let (hash, rev) = s.password_hash("root").unwrap();
    assert!(bcrypt::verify("pw", &hash).unwrap());
    assert_eq!(s.password_hash("nobody"), Err(Error::AuthFailed));
    let opts = Some(UserAddOptions { no_password: true });
    s.user_add(&AuthUserAddRequest { name: "np".into(), options: opts, ..Default::default() }, &mut b).unwrap();
    assert_eq!(s.password_hash("np"), Err(Error::NoPasswordUser));
    // A stale revision asks for another password check.
    assert_eq!(s.assign_token("root", rev, 1), Ok(None));
    let (_, rev) = s.password_hash("root").unwrap();
    let token = s.assign_token("root", rev, 9).unwrap().unwrap();
    assert!(token.ends_with(".9"));
    let mut meta = tonic::metadata::MetadataMap::new();
    meta.insert("token", token.parse().unwrap());
    assert_eq!(s.authorize(&meta, &[Access::Admin]).unwrap(), "root");
    meta.insert("token", "bogus.1".parse().unwrap());
    assert_eq!(s.authorize(&meta, &[]), Err(Error::InvalidAuthToken));
    // Disabling drops tokens.
    meta.insert("token", token.parse().unwrap());
    s.disable(&mut b).unwrap();
    assert_eq!(s.user_of(&meta), Err(Error::InvalidAuthToken));
    assert_eq!(s.password_hash("root"), Err(Error::AuthNotEnabled));
}

#[test]
fn unhashed_password_is_refused_at_apply() {
    let s = AuthStore::empty(4);
    let mut b = WriteBatch::default();
    let r = AuthUserAddRequest { name: "u".into(), password: "pw".into(), ..Default::default() };
    assert!(matches!(s.user_add(&r, &mut b), Err(Error::InvalidArgument(_))));
    assert!(b.is_empty());
}

#[test]
fn state_survives_reopen() {
    let engine = MemoryEngine::new();
    let (s, mut b) = enabled_store();
    add_user(&s, &mut b, "alice").unwrap();
    s.role_add(&AuthRoleAddRequest { name: "r".into() }, &mut b).unwrap();
    grant(&s, &mut b, "r", PermType::Read, "k", "");
    grant_role(&s, &mut b, "alice", "r").unwrap();
    s.user_delete(&AuthUserDeleteRequest { name: "alice".into() }, &mut b).unwrap();
    add_user(&s, &mut b, "bob").unwrap();
    engine.commit(&b).unwrap();

    let r = AuthStore::open(&engine).unwrap();
    assert!(r.is_enabled());
    assert_eq!(r.revision(), s.revision());
    assert_eq!(r.user_list(), vec!["bob".to_string(), "root".to_string()]);
    assert_eq!(r.role_list(), vec!["r".to_string()]);
    assert_eq!(r.role_get("r").unwrap().len(), 1);
    assert_eq!(r.check("root", &[Access::Admin]), Ok(()));
    assert_eq!(r.check("bob", &[Access::read(b"k", b"")]), Err(Error::PermissionDenied));

    let fresh = AuthStore::open(&MemoryEngine::new()).unwrap();
    assert_eq!((fresh.is_enabled(), fresh.revision()), (false, 1));
}
