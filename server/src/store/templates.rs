//! Notice templates: one row per template (its latest version named), its versions kept
//! as they were, never changed or deleted (the databases refuse it).

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreResult, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub notice_type: String,
    pub language: String,
    pub latest_version: i32,
    pub archived: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TemplateVersionRow {
    pub template_id: Uuid,
    pub version: i32,
    /// `app::templates::TemplateContent` as JSON.
    pub content: String,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait TemplateStore: Send + Sync {
    async fn create_template(
        &self,
        template: &TemplateRow,
        first: &TemplateVersionRow,
    ) -> StoreResult<()>;
    /// Adds the next version; `false` when the template is not the organisation's or someone
    /// else saved a version since `after` (the admin's edit would silently undo theirs).
    async fn add_template_version(
        &self,
        organisation_id: Uuid,
        name: &str,
        after: i32,
        version: &TemplateVersionRow,
    ) -> StoreResult<bool>;
    async fn set_template_archived(
        &self,
        organisation_id: Uuid,
        id: Uuid,
        archived: bool,
    ) -> StoreResult<bool>;
    /// The organisation's templates by name.
    async fn templates(&self, organisation_id: Uuid) -> StoreResult<Vec<TemplateRow>>;
    async fn template(&self, organisation_id: Uuid, id: Uuid) -> StoreResult<Option<TemplateRow>>;
    async fn template_version(
        &self,
        organisation_id: Uuid,
        id: Uuid,
        version: i32,
    ) -> StoreResult<Option<TemplateVersionRow>>;
    /// Newest first.
    async fn template_versions(
        &self,
        organisation_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Vec<TemplateVersionRow>>;
}
