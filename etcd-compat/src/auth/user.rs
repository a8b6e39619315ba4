//! User changes, applied as etcd's auth store applies them: add, delete,
//! change password, grant and revoke roles. Passwords arrive already hashed
//! (the server hashes before proposing) so applying stays deterministic.

use super::store::{AuthStore, ROOT_ROLE, ROOT_USER};
use crate::error::{Error, Result};
use crate::proto::authpb::{User, UserAddOptions};
use crate::proto::etcdserverpb::{
    AuthUserAddRequest, AuthUserChangePasswordRequest, AuthUserDeleteRequest, AuthUserGrantRoleRequest,
    AuthUserRevokeRoleRequest,
};
use crate::storage::WriteBatch;

/// The stored password: the bcrypt hash the server computed before proposing.
fn hashed(password: &str, hashed_password: &str) -> Result<Vec<u8>> {
    if hashed_password.is_empty() && !password.is_empty() {
        return Err(Error::InvalidArgument("password must be hashed before apply".into()));
    }
    Ok(hashed_password.as_bytes().to_vec())
}

impl AuthStore {
    pub fn user_add(&self, r: &AuthUserAddRequest, batch: &mut WriteBatch) -> Result<()> {
        if r.name.is_empty() {
            return Err(Error::UserEmpty);
        }
        self.update(|st| {
            if st.users.contains_key(&r.name) {
                return Err(Error::UserAlreadyExists);
            }
            let options = r.options.unwrap_or(UserAddOptions { no_password: false });
            let password = if options.no_password { Vec::new() } else { hashed(&r.password, &r.hashed_password)? };
            let user = User { name: r.name.as_bytes().to_vec(), password, roles: Vec::new(), options: Some(options) };
            st.put_user(user, batch);
            st.commit_revision(batch);
            st.refresh_perms();
            Ok(())
        })
    }

    pub fn user_delete(&self, r: &AuthUserDeleteRequest, batch: &mut WriteBatch) -> Result<()> {
        self.update(|st| {
            if st.enabled && r.name == ROOT_USER {
                return Err(Error::InvalidAuthMgmt);
            }
            if !st.users.contains_key(&r.name) {
                return Err(Error::UserNotFound);
            }
            st.del_user(&r.name, batch);
            st.commit_revision(batch);
            st.refresh_perms();
            self.tokens().invalidate_user(&r.name);
            Ok(())
        })
    }

    pub fn user_change_password(&self, r: &AuthUserChangePasswordRequest, batch: &mut WriteBatch) -> Result<()> {
        self.update(|st| {
            let user = st.users.get(&r.name).ok_or(Error::UserNotFound)?;
            let no_password = user.options.as_ref().is_some_and(|o| o.no_password);
            let password = if no_password { Vec::new() } else { hashed(&r.password, &r.hashed_password)? };
            let updated = User { password, ..user.clone() };
            st.put_user(updated, batch);
            st.commit_revision(batch);
            st.refresh_perms();
            self.tokens().invalidate_user(&r.name);
            Ok(())
        })
    }

    pub fn user_grant_role(&self, r: &AuthUserGrantRoleRequest, batch: &mut WriteBatch) -> Result<()> {
        self.update(|st| {
            let user = st.users.get(&r.user).ok_or(Error::UserNotFound)?;
            // The root role may be granted before it exists as a role.
            if r.role != ROOT_ROLE && !st.roles.contains_key(&r.role) {
                return Err(Error::RoleNotFound);
            }
            let Err(at) = user.roles.binary_search(&r.role) else {
                // Already granted: etcd answers success without a new revision.
                return Ok(());
            };
            let mut updated = user.clone();
            updated.roles.insert(at, r.role.clone());
            st.put_user(updated, batch);
            st.commit_revision(batch);
            st.refresh_perms();
            Ok(())
        })
    }

    pub fn user_revoke_role(&self, r: &AuthUserRevokeRoleRequest, batch: &mut WriteBatch) -> Result<()> {
        self.update(|st| {
            if st.enabled && r.name == ROOT_USER && r.role == ROOT_ROLE {
                return Err(Error::InvalidAuthMgmt);
            }
            let user = st.users.get(&r.name).ok_or(Error::UserNotFound)?;
            let roles: Vec<String> = user.roles.iter().filter(|x| **x != r.role).cloned().collect();
            if roles.len() == user.roles.len() {
                return Err(Error::RoleNotGranted);
            }
            let updated = User { roles, ..user.clone() };
            st.put_user(updated, batch);
            st.commit_revision(batch);
            st.refresh_perms();
            Ok(())
        })
    }
}
