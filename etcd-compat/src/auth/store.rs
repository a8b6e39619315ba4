//! The auth store: users, roles, the enabled flag and the auth revision, held
//! in memory and persisted in [`Table::Auth`] through the apply path's batch.
//! Reads and permission checks serve from memory; changes come only from the
//! applier (see `user.rs` and `role.rs`), so every member applies them alike.
//!
//! Layout in the auth table, mirroring etcd's buckets: `authEnabled` (one byte)
//! and `authRevision` (u64 big-endian) as in etcd's `auth` bucket, then
//! `user/<name>` → `authpb.User` and `role/<name>` → `authpb.Role` for etcd's
//! `authUsers` and `authRoles`. Passwords are bcrypt hashes, as etcd stores them.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use prost::Message;
use tonic::metadata::MetadataMap;

use super::permission::RangePerms;
use super::token::{self, SimpleTokens};
use super::Access;
use crate::error::{Error, Result};
use crate::proto::authpb::{Permission, Role, User};
use crate::storage::{Engine, Table, WriteBatch};

pub const ROOT_USER: &str = "root";
pub const ROOT_ROLE: &str = "root";
/// etcd's default `--bcrypt-cost` (bcrypt.DefaultCost).
pub const DEFAULT_BCRYPT_COST: u32 = 10;

const KEY_ENABLED: &[u8] = b"authEnabled";
const KEY_REVISION: &[u8] = b"authRevision";
const USER_PREFIX: &[u8] = b"user/";
const ROLE_PREFIX: &[u8] = b"role/";

fn prefixed(prefix: &[u8], name: &str) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(name.as_bytes());
    k
}

/// The auth state; mutated only by the applier.
#[derive(Debug, Default)]
pub struct State {
    pub(super) enabled: bool,
    pub(super) revision: u64,
    pub(super) users: BTreeMap<String, User>,
    pub(super) roles: BTreeMap<String, Role>,
    /// Every user's merged permissions, rebuilt on each change.
    perms: HashMap<String, RangePerms>,
}

impl State {
    /// Bumps the auth revision, as every etcd auth change but enable does.
    pub(super) fn commit_revision(&mut self, batch: &mut WriteBatch) {
        self.revision += 1;
        batch.put(Table::Auth, KEY_REVISION, self.revision.to_be_bytes().to_vec());
    }

    pub(super) fn set_enabled(&mut self, enabled: bool, batch: &mut WriteBatch) {
        self.enabled = enabled;
        batch.put(Table::Auth, KEY_ENABLED, vec![u8::from(enabled)]);
    }

    pub(super) fn put_user(&mut self, user: User, batch: &mut WriteBatch) {
        let name = String::from_utf8_lossy(&user.name).into_owned();
        batch.put(Table::Auth, prefixed(USER_PREFIX, &name), user.encode_to_vec());
        self.users.insert(name, user);
    }

    pub(super) fn del_user(&mut self, name: &str, batch: &mut WriteBatch) {
        batch.delete(Table::Auth, prefixed(USER_PREFIX, name));
        self.users.remove(name);
    }

    pub(super) fn put_role(&mut self, role: Role, batch: &mut WriteBatch) {
        let name = String::from_utf8_lossy(&role.name).into_owned();
        batch.put(Table::Auth, prefixed(ROLE_PREFIX, &name), role.encode_to_vec());
        self.roles.insert(name, role);
    }

    pub(super) fn del_role(&mut self, name: &str, batch: &mut WriteBatch) {
        batch.delete(Table::Auth, prefixed(ROLE_PREFIX, name));
        self.roles.remove(name);
    }

    /// etcd's refreshRangePermCache: recompute every user's merged permissions.
    pub(super) fn refresh_perms(&mut self) {
        self.perms = self.users.iter().map(|(n, u)| (n.clone(), RangePerms::merged(u, &self.roles))).collect();
    }

    fn has_root_role(&self, user: &str) -> Option<bool> {
        self.users.get(user).map(|u| u.roles.iter().any(|r| r == ROOT_ROLE))
    }

    /// etcd's IsAdminPermitted.
    fn check_admin(&self, user: &str) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        if user.is_empty() {
            return Err(Error::UserEmpty);
        }
        match self.has_root_role(user) {
            None => Err(Error::UserNotFound),
            Some(false) => Err(Error::PermissionDenied),
            Some(true) => Ok(()),
        }
    }

    /// etcd's isOpPermitted: root bypasses, others need a covering permission.
    fn check_range(&self, user: &str, key: &[u8], end: &[u8], write: bool) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        if user.is_empty() {
            return Err(Error::UserEmpty);
        }
        match self.has_root_role(user) {
            None => Err(Error::PermissionDenied),
            Some(true) => Ok(()),
            Some(false) => match self.perms.get(user) {
                Some(p) if p.permits(key, end, write) => Ok(()),
                _ => Err(Error::PermissionDenied),
            },
        }
    }

    fn check(&self, user: &str, access: &[Access]) -> Result<()> {
        for a in access {
            match a {
                Access::Admin => self.check_admin(user)?,
                Access::Read { key, end } => self.check_range(user, key, end, false)?,
                Access::Write { key, end } => self.check_range(user, key, end, true)?,
            }
        }
        Ok(())
    }
}

/// The auth store shared by the applier and the services.
#[derive(Debug)]
pub struct AuthStore {
    state: RwLock<State>,
    tokens: Mutex<SimpleTokens>,
    bcrypt_cost: u32,
}

impl AuthStore {
    /// Restores the auth state persisted in `engine`.
    pub fn open(engine: &dyn Engine) -> Result<Self> {
        let mut st = State::default();
        let mut raw = Vec::new();
        engine.scan(Table::Auth, &[], None, &mut |k, v| {
            raw.push((k.to_vec(), v.to_vec()));
            true
        })?;
        for (k, v) in raw {
            if k == KEY_ENABLED {
                st.enabled = v.first() == Some(&1);
            } else if k == KEY_REVISION {
                let b: [u8; 8] = v.as_slice().try_into().map_err(|_| Error::Corrupt("auth revision".into()))?;
                st.revision = u64::from_be_bytes(b);
            } else if let Some(name) = k.strip_prefix(USER_PREFIX) {
                st.users.insert(String::from_utf8_lossy(name).into_owned(), User::decode(v.as_slice())?);
            } else if let Some(name) = k.strip_prefix(ROLE_PREFIX) {
                st.roles.insert(String::from_utf8_lossy(name).into_owned(), Role::decode(v.as_slice())?);
            }
        }
        // A fresh etcd auth store starts at revision 1.
        st.revision = st.revision.max(1);
        st.refresh_perms();
        Ok(Self::with_state(st, DEFAULT_BCRYPT_COST))
    }

    /// Replaces the state with what `engine` holds (after a Raft snapshot install).
    pub fn reload(&self, engine: &dyn Engine) -> Result<()> {
        let fresh = Self::open(engine)?;
        *self.state.write() = fresh.state.into_inner();
        Ok(())
    }

    fn with_state(state: State, bcrypt_cost: u32) -> Self {
        Self { state: RwLock::new(state), tokens: Mutex::new(SimpleTokens::default()), bcrypt_cost }
    }

    /// An empty store with the given bcrypt cost.
    #[cfg(test)]
    pub(crate) fn empty(bcrypt_cost: u32) -> Self {
        Self::with_state(State { revision: 1, ..State::default() }, bcrypt_cost)
    }

    pub fn bcrypt_cost(&self) -> u32 {
        self.bcrypt_cost
    }

    pub fn is_enabled(&self) -> bool {
        self.state.read().enabled
    }

    pub fn revision(&self) -> u64 {
        self.state.read().revision
    }

    /// Runs an applier change under the write lock (see `user.rs`, `role.rs`).
    pub(super) fn update<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        f(&mut self.state.write())
    }

    pub(super) fn tokens(&self) -> parking_lot::MutexGuard<'_, SimpleTokens> {
        self.tokens.lock()
    }

    /// The user of the request's token: "" without a token, an error for a bad one.
    pub fn user_of(&self, meta: &MetadataMap) -> Result<String> {
        match token::from_metadata(meta)? {
            None => Ok(String::new()),
            Some(t) => self.tokens.lock().lookup(t, Instant::now()).ok_or(Error::InvalidAuthToken),
        }
    }

    /// Checks the request's token and that its user may do everything in `access`.
    pub fn authorize(&self, meta: &MetadataMap, access: &[Access]) -> Result<String> {
        let user = self.user_of(meta)?;
        self.check(&user, access)?;
        Ok(user)
    }

    /// Checks `user` ("" = anonymous) against `access`; always passes with auth off.
    pub fn check(&self, user: &str, access: &[Access]) -> Result<()> {
        self.state.read().check(user, access)
    }

    pub fn check_admin(&self, user: &str) -> Result<()> {
        self.state.read().check_admin(user)
    }

    pub fn has_role(&self, user: &str, role: &str) -> bool {
        self.state.read().users.get(user).is_some_and(|u| u.roles.iter().any(|r| r == role))
    }

    /// The password hash to verify and the revision it was read at (etcd's CheckPassword).
    pub fn password_hash(&self, name: &str) -> Result<(String, u64)> {
        let st = self.state.read();
        if !st.enabled {
            return Err(Error::AuthNotEnabled);
        }
        let user = st.users.get(name).ok_or(Error::AuthFailed)?;
        if user.options.as_ref().is_some_and(|o| o.no_password) {
            return Err(Error::NoPasswordUser);
        }
        Ok((String::from_utf8_lossy(&user.password).into_owned(), st.revision))
    }

    /// Issues a token for `name` if the auth state is still at `checked_rev`;
    /// `None` asks the caller to check the password again.
    pub fn assign_token(&self, name: &str, checked_rev: u64, index: u64) -> Result<Option<String>> {
        let st = self.state.read();
        if !st.enabled {
            return Err(Error::AuthNotEnabled);
        }
        let user = st.users.get(name).ok_or(Error::AuthFailed)?;
        if user.options.as_ref().is_some_and(|o| o.no_password) {
            return Err(Error::AuthFailed);
        }
        if st.revision != checked_rev {
            return Ok(None);
        }
        let prefix = token::gen_prefix();
        Ok(Some(self.tokens.lock().assign(name, &prefix, index, Instant::now())))
    }

    /// A user's roles.
    pub fn user_get(&self, name: &str) -> Result<Vec<String>> {
        self.state.read().users.get(name).map(|u| u.roles.clone()).ok_or(Error::UserNotFound)
    }

    /// Every user name, in byte order.
    pub fn user_list(&self) -> Vec<String> {
        self.state.read().users.keys().cloned().collect()
    }

    /// A role's permissions.
    pub fn role_get(&self, name: &str) -> Result<Vec<Permission>> {
        self.state.read().roles.get(name).map(|r| r.key_permission.clone()).ok_or(Error::RoleNotFound)
    }

    /// Every role name, in byte order.
    pub fn role_list(&self) -> Vec<String> {
        self.state.read().roles.keys().cloned().collect()
    }

    /// AuthEnable: needs a root user holding the root role; enabling twice is a no-op.
    pub fn enable(&self, batch: &mut WriteBatch) -> Result<()> {
        self.update(|st| {
            if st.enabled {
                return Ok(());
            }
            match st.has_root_role(ROOT_USER) {
                None => return Err(Error::RootUserNotExist),
                Some(false) => return Err(Error::RootRoleNotExist),
                Some(true) => {}
            }
            st.set_enabled(true, batch);
            st.refresh_perms();
            Ok(())
        })
    }

    /// AuthDisable: bumps the revision and drops every token.
    pub fn disable(&self, batch: &mut WriteBatch) -> Result<()> {
        self.update(|st| {
            if st.enabled {
                st.set_enabled(false, batch);
                st.commit_revision(batch);
                self.tokens.lock().clear();
            }
            Ok(())
        })
    }
}
