//! The SQL of notice templates, shared by both backends like `sql.rs`.

pub(crate) const TEMPLATE_COLUMNS: &str = "id, organisation_id, name, notice_type, language, \
     latest_version, archived, created_at, updated_at";

macro_rules! impl_shared_template_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::TemplateStore for $store {
            async fn create_template(
                &self,
                template: &$crate::store::TemplateRow,
                first: &$crate::store::TemplateVersionRow,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer.begin().await?;
                sqlx::query(&format!(
                    "INSERT INTO templates ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    $crate::store::sql_templates::TEMPLATE_COLUMNS
                ))
                .bind(template.id)
                .bind(template.organisation_id)
                .bind(&template.name)
                .bind(&template.notice_type)
                .bind(&template.language)
                .bind(template.latest_version)
                .bind(template.archived)
                .bind(template.created_at)
                .bind(template.updated_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO template_versions (template_id, version, content, created_by, \
                     created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(first.template_id)
                .bind(first.version)
                .bind(&first.content)
                .bind(first.created_by)
                .bind(first.created_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn add_template_version(
                &self,
                organisation_id: uuid::Uuid,
                name: &str,
                after: i32,
                version: &$crate::store::TemplateVersionRow,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                let moved = sqlx::query(
                    "UPDATE templates SET latest_version = $4, name = $5, updated_at = $6 \
                     WHERE organisation_id = $1 AND id = $2 AND latest_version = $3",
                )
                .bind(organisation_id)
                .bind(version.template_id)
                .bind(after)
                .bind(version.version)
                .bind(name)
                .bind(version.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !moved {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO template_versions (template_id, version, content, created_by, \
                     created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(version.template_id)
                .bind(version.version)
                .bind(&version.content)
                .bind(version.created_by)
                .bind(version.created_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn set_template_archived(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
                archived: bool,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query(
                    "UPDATE templates SET archived = $3 WHERE organisation_id = $1 AND id = $2",
                )
                .bind(organisation_id)
                .bind(id)
                .bind(archived)
                .execute(&self.writer)
                .await?
                .rows_affected()
                    == 1)
            }

            async fn templates(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::TemplateRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM templates WHERE organisation_id = $1 ORDER BY name, id",
                    $crate::store::sql_templates::TEMPLATE_COLUMNS
                ))
                .bind(organisation_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn template(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::TemplateRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM templates WHERE organisation_id = $1 AND id = $2",
                    $crate::store::sql_templates::TEMPLATE_COLUMNS
                ))
                .bind(organisation_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn template_version(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
                version: i32,
            ) -> $crate::store::StoreResult<Option<$crate::store::TemplateVersionRow>> {
                Ok(sqlx::query_as(
                    "SELECT v.template_id, v.version, v.content, v.created_by, v.created_at \
                     FROM template_versions v JOIN templates t ON t.id = v.template_id \
                     WHERE t.organisation_id = $1 AND v.template_id = $2 AND v.version = $3",
                )
                .bind(organisation_id)
                .bind(id)
                .bind(version)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn template_versions(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::TemplateVersionRow>> {
                Ok(sqlx::query_as(
                    "SELECT v.template_id, v.version, v.content, v.created_by, v.created_at \
                     FROM template_versions v JOIN templates t ON t.id = v.template_id \
                     WHERE t.organisation_id = $1 AND v.template_id = $2 \
                     ORDER BY v.version DESC",
                )
                .bind(organisation_id)
                .bind(id)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use impl_shared_template_store;
