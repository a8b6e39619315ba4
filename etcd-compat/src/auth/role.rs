//! Role changes, applied as etcd's auth store applies them: add, delete (which
//! also takes the role from every user), grant and revoke key permissions.
//! A role's permissions stay sorted by key.

use super::store::{AuthStore, ROOT_ROLE};
use crate::error::{Error, Result};
use crate::proto::authpb::{Permission, Role, User};
use crate::proto::etcdserverpb::{
    AuthRoleAddRequest, AuthRoleDeleteRequest, AuthRoleGrantPermissionRequest, AuthRoleRevokePermissionRequest,
};
use crate::storage::WriteBatch;

impl AuthStore {
    pub fn role_add(&self, r: &AuthRoleAddRequest, batch: &mut WriteBatch) -> Result<()> {
        if r.name.is_empty() {
            return Err(Error::RoleEmpty);
        }
        self.update(|st| {
            if st.roles.contains_key(&r.name) {
                return Err(Error::RoleAlreadyExists);
            }
            st.put_role(Role { name: r.name.as_bytes().to_vec(), key_permission: Vec::new() }, batch);
            st.commit_revision(batch);
            st.refresh_perms();
            Ok(())
        })
    }

    pub fn role_delete(&self, r: &AuthRoleDeleteRequest, batch: &mut WriteBatch) -> Result<()> {
        self.update(|st| {
            if st.enabled && r.role == ROOT_ROLE {
                return Err(Error::InvalidAuthMgmt);
            }
            if !st.roles.contains_key(&r.role) {
                return Err(Error::RoleNotFound);
            }
            st.del_role(&r.role, batch);
            let holders: Vec<User> = st.users.values().filter(|u| u.roles.contains(&r.role)).cloned().collect();
            for mut user in holders {
                user.roles.retain(|x| *x != r.role);
                st.put_user(user, batch);
            }
            st.commit_revision(batch);
            st.refresh_perms();
            Ok(())
        })
    }

    pub fn role_grant_permission(&self, r: &AuthRoleGrantPermissionRequest, batch: &mut WriteBatch) -> Result<()> {
        let perm = r.perm.as_ref().ok_or(Error::PermissionNotGiven)?;
        self.update(|st| {
            let mut role = st.roles.get(&r.name).cloned().ok_or(Error::RoleNotFound)?;
            let perms = &mut role.key_permission;
            // Like etcd, only the first permission at this key is a candidate for update.
            let at = perms.partition_point(|p| p.key < perm.key);
            match perms.get_mut(at) {
                Some(p) if p.key == perm.key && p.range_end == perm.range_end => p.perm_type = perm.perm_type,
                _ => {
                    perms.push(Permission {
                        perm_type: perm.perm_type,
                        key: perm.key.clone(),
                        range_end: perm.range_end.clone(),
                    });
                    perms.sort_by(|a, b| a.key.cmp(&b.key));
                }
            }
            st.put_role(role, batch);
            st.commit_revision(batch);
            st.refresh_perms();
            Ok(())
        })
    }

    pub fn role_revoke_permission(&self, r: &AuthRoleRevokePermissionRequest, batch: &mut WriteBatch) -> Result<()> {
        self.update(|st| {
            let role = st.roles.get(&r.role).ok_or(Error::RoleNotFound)?;
            let kept: Vec<Permission> =
                role.key_permission.iter().filter(|p| p.key != r.key || p.range_end != r.range_end).cloned().collect();
            if kept.len() == role.key_permission.len() {
                return Err(Error::PermissionNotGranted);
            }
            let updated = Role { name: role.name.clone(), key_permission: kept };
            st.put_role(updated, batch);
            st.commit_revision(batch);
            st.refresh_perms();
            Ok(())
        })
    }
}
