//! Workspaces: the list, a new one, members and invitations; a shared workspace handed to
//! another member, or deleted.

use gloo_net::http::Method;
use shared::{
    workspaces::{
        CreateWorkspaceRequest, InviteRequest, Member, TransferRequest, Workspace, WorkspaceBody,
    },
    Page, StatusBody, TokenRequest,
};

use super::{act, get, page, post, send, to_value, ApiResult};
use crate::logic::encode;

pub async fn workspaces() -> ApiResult<Page<Workspace>> {
    get(&page("/api/v1/workspaces", &None, 200, &[])).await
}
pub async fn create_workspace(name: String) -> ApiResult<Workspace> {
    post::<WorkspaceBody>("/api/v1/workspaces", &CreateWorkspaceRequest { name })
        .await
        .map(|b| b.workspace)
}
pub async fn members(workspace: String) -> ApiResult<Page<Member>> {
    get(&page(
        &format!("/api/v1/workspaces/{}/members", encode(&workspace)),
        &None,
        200,
        &[],
    ))
    .await
}
pub async fn invite(workspace: String, req: InviteRequest) -> ApiResult<StatusBody> {
    post(
        &format!("/api/v1/workspaces/{}/members", encode(&workspace)),
        &req,
    )
    .await
}
pub async fn remove_member(workspace: String, user: String) -> ApiResult<()> {
    act(
        Method::DELETE,
        &format!(
            "/api/v1/workspaces/{}/members/{}",
            encode(&workspace),
            encode(&user)
        ),
    )
    .await
}
pub async fn accept_invitation(token: String) -> ApiResult<Workspace> {
    post::<WorkspaceBody>("/api/v1/invitations/accept", &TokenRequest { token })
        .await
        .map(|b| b.workspace)
}

pub async fn transfer(workspace: String, user_id: String) -> ApiResult<()> {
    let url = format!("/api/v1/workspaces/{}/transfer", encode(&workspace));
    send(Method::POST, &url, to_value(&TransferRequest { user_id }))
        .await
        .map(|_| ())
}

pub async fn delete(workspace: String) -> ApiResult<()> {
    act(
        Method::DELETE,
        &format!("/api/v1/workspaces/{}", encode(&workspace)),
    )
    .await
}
