//! Auth service: management changes are proposed (passwords hashed first, as
//! etcd 3.5 does, so applying is deterministic); Authenticate, the gets, lists
//! and AuthStatus are served from the auth store.

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};

use super::check_request_size;
use crate::apply::Response as Applied;
use crate::auth::{Access, AuthStore};
use crate::error::Error;
use crate::node::Node;
use crate::proto::capstanpb::command::Op;
use crate::proto::capstanpb::Command;
use crate::proto::etcdserverpb::auth_server::Auth;
use crate::proto::etcdserverpb::*;

pub struct AuthService {
    node: Arc<Node>,
}

impl AuthService {
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    fn store(&self) -> &Arc<AuthStore> {
        &self.node.shared().auth
    }

    /// Proposes a management command as the token's user (root once auth is on).
    async fn propose(&self, user: String, op: Op) -> Result<Option<ResponseHeader>, Status> {
        let cmd = Command { op: Some(op), user };
        check_request_size(&self.node, cmd.encoded_len())?;
        match self.node.propose(cmd).await? {
            Applied::Auth(h) => {
                let mut h = Some(h);
                self.node.fill(&mut h);
                Ok(h)
            }
            _ => Err(Status::internal("etcdserver: unexpected apply response")),
        }
    }

    async fn hash(&self, password: String) -> Result<String, Status> {
        let cost = self.store().bcrypt_cost();
        tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::unknown(e.to_string()))
    }

    async fn verify(&self, password: String, hash: String) -> Result<bool, Status> {
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .map_err(|e| Status::internal(e.to_string()))
    }
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn auth_enable(&self, request: Request<AuthEnableRequest>) -> Result<Response<AuthEnableResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::AuthEnable(request.into_inner())).await?;
        Ok(Response::new(AuthEnableResponse { header }))
    }

    async fn auth_disable(
        &self,
        request: Request<AuthDisableRequest>,
    ) -> Result<Response<AuthDisableResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::AuthDisable(request.into_inner())).await?;
        Ok(Response::new(AuthDisableResponse { header }))
    }

    async fn auth_status(&self, request: Request<AuthStatusRequest>) -> Result<Response<AuthStatusResponse>, Status> {
        self.node.authorize(request.metadata(), &[Access::Admin])?;
        let store = self.store();
        Ok(Response::new(AuthStatusResponse {
            header: Some(self.node.header()),
            enabled: store.is_enabled(),
            auth_revision: store.revision(),
        }))
    }

    async fn authenticate(
        &self,
        request: Request<AuthenticateRequest>,
    ) -> Result<Response<AuthenticateResponse>, Status> {
        let r = request.into_inner();
        let store = self.store().clone();
        // Like etcd: check the password off the lock, then issue the token only
        // if nothing in auth changed meanwhile; otherwise check again.
        loop {
            let (hash, checked_rev) = store.password_hash(&r.name)?;
            if !self.verify(r.password.clone(), hash).await? {
                return Err(Error::AuthFailed.into());
            }
            if let Some(token) = store.assign_token(&r.name, checked_rev, self.node.applied_index())? {
                return Ok(Response::new(AuthenticateResponse { header: Some(self.node.header()), token }));
            }
        }
    }

    async fn user_add(&self, request: Request<AuthUserAddRequest>) -> Result<Response<AuthUserAddResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let mut r = request.into_inner();
        if !r.options.is_some_and(|o| o.no_password) {
            r.hashed_password = self.hash(std::mem::take(&mut r.password)).await?;
        }
        let header = self.propose(user, Op::UserAdd(r)).await?;
        Ok(Response::new(AuthUserAddResponse { header }))
    }

    async fn user_get(&self, request: Request<AuthUserGetRequest>) -> Result<Response<AuthUserGetResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[])?;
        let r = request.get_ref();
        // Anyone may read their own user.
        if let Err(e) = self.store().check_admin(&user) {
            if r.name != user {
                return Err(e.into());
            }
        }
        let roles = self.store().user_get(&r.name)?;
        Ok(Response::new(AuthUserGetResponse { header: Some(self.node.header()), roles }))
    }

    async fn user_list(&self, request: Request<AuthUserListRequest>) -> Result<Response<AuthUserListResponse>, Status> {
        self.node.authorize(request.metadata(), &[Access::Admin])?;
        let users = self.store().user_list();
        Ok(Response::new(AuthUserListResponse { header: Some(self.node.header()), users }))
    }

    async fn user_delete(
        &self,
        request: Request<AuthUserDeleteRequest>,
    ) -> Result<Response<AuthUserDeleteResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::UserDelete(request.into_inner())).await?;
        Ok(Response::new(AuthUserDeleteResponse { header }))
    }

    async fn user_change_password(
        &self,
        request: Request<AuthUserChangePasswordRequest>,
    ) -> Result<Response<AuthUserChangePasswordResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let mut r = request.into_inner();
        r.hashed_password = self.hash(std::mem::take(&mut r.password)).await?;
        let header = self.propose(user, Op::UserChangePassword(r)).await?;
        Ok(Response::new(AuthUserChangePasswordResponse { header }))
    }

    async fn user_grant_role(
        &self,
        request: Request<AuthUserGrantRoleRequest>,
    ) -> Result<Response<AuthUserGrantRoleResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::UserGrantRole(request.into_inner())).await?;
        Ok(Response::new(AuthUserGrantRoleResponse { header }))
    }

    async fn user_revoke_role(
        &self,
        request: Request<AuthUserRevokeRoleRequest>,
    ) -> Result<Response<AuthUserRevokeRoleResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::UserRevokeRole(request.into_inner())).await?;
        Ok(Response::new(AuthUserRevokeRoleResponse { header }))
    }

    async fn role_add(&self, request: Request<AuthRoleAddRequest>) -> Result<Response<AuthRoleAddResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::RoleAdd(request.into_inner())).await?;
        Ok(Response::new(AuthRoleAddResponse { header }))
    }

    async fn role_get(&self, request: Request<AuthRoleGetRequest>) -> Result<Response<AuthRoleGetResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[])?;
        let r = request.get_ref();
        // Anyone may read the roles they hold.
        if let Err(e) = self.store().check_admin(&user) {
            if !self.store().has_role(&user, &r.role) {
                return Err(e.into());
            }
        }
        let perm = self.store().role_get(&r.role)?;
        Ok(Response::new(AuthRoleGetResponse { header: Some(self.node.header()), perm }))
    }

    async fn role_list(&self, request: Request<AuthRoleListRequest>) -> Result<Response<AuthRoleListResponse>, Status> {
        self.node.authorize(request.metadata(), &[Access::Admin])?;
        let roles = self.store().role_list();
        Ok(Response::new(AuthRoleListResponse { header: Some(self.node.header()), roles }))
    }

    async fn role_delete(
        &self,
        request: Request<AuthRoleDeleteRequest>,
    ) -> Result<Response<AuthRoleDeleteResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::RoleDelete(request.into_inner())).await?;
        Ok(Response::new(AuthRoleDeleteResponse { header }))
    }

    async fn role_grant_permission(
        &self,
        request: Request<AuthRoleGrantPermissionRequest>,
    ) -> Result<Response<AuthRoleGrantPermissionResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::RoleGrantPermission(request.into_inner())).await?;
        Ok(Response::new(AuthRoleGrantPermissionResponse { header }))
    }

    async fn role_revoke_permission(
        &self,
        request: Request<AuthRoleRevokePermissionRequest>,
    ) -> Result<Response<AuthRoleRevokePermissionResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[Access::Admin])?;
        let header = self.propose(user, Op::RoleRevokePermission(request.into_inner())).await?;
        Ok(Response::new(AuthRoleRevokePermissionResponse { header }))
    }
}
