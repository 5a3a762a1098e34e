# Outputs marked sensitive hold credentials. `terraform output` hides them; scripts read them
# with `terraform output -json` (scripts/secrets-from-terraform.ts, scripts/deploy.ts).

output "environment" {
  description = "Environment this state describes; the scripts refuse to use outputs of another one."
  value       = var.environment
}

output "worker_name" {
  description = "Worker the API domain points at (wrangler.toml `name` of this environment)."
  value       = local.worker_name
}

output "r2_bucket_names" {
  description = "R2 bucket names by role, as bound in wrangler.toml."
  value       = { for key, bucket in cloudflare_r2_bucket.media : key => bucket.name }
}

output "api_url" {
  description = "Base URL of the API once attach_api_domain is true."
  value       = "https://${var.api_hostname}"
}

output "media_base_urls" {
  description = "Public base URLs of the media buckets that have a hostname."
  value       = { for key, domain in cloudflare_r2_custom_domain.media : key => "https://${domain.domain}" }
}

output "neon_project_id" {
  description = "Neon project id, for neonctl --project-id."
  value       = neon_project.this.id
}

output "neon_branch_id" {
  description = "Root branch id (the system of record), for neonctl."
  value       = neon_project.this.default_branch_id
}

# The pinned provider reads the role's password into state (and again on every refresh, which is
# how a reset in the Neon console reaches these outputs). Its later, rewritten releases expose it
# only ephemerally, which outputs cannot hold: see README.md, "Moving to the rewritten neondatabase/neon".
locals {
  database_credentials = "${neon_role.app.name}:${urlencode(neon_role.app.password)}"
}

output "database_url" {
  description = "DATABASE_URL secret of the Worker: the pooled endpoint, suited to many short serverless connections."
  sensitive   = true
  value       = "postgresql://${local.database_credentials}@${neon_project.this.database_host_pooler}/${neon_database.app.name}?sslmode=require"
}

output "database_url_direct" {
  description = "Unpooled connection string for migrations, pg_dump and psql sessions, which need session state the pooler does not keep."
  sensitive   = true
  value       = "postgresql://${local.database_credentials}@${neon_project.this.database_host}/${neon_database.app.name}?sslmode=require"
}

output "upstash_redis_rest_url" {
  description = "UPSTASH_REDIS_REST_URL secret of the Worker."
  sensitive   = true
  value       = "https://${upstash_redis_database.this.endpoint}"
}

output "upstash_redis_rest_token" {
  description = "UPSTASH_REDIS_REST_TOKEN secret of the Worker (read-write)."
  sensitive   = true
  value       = upstash_redis_database.this.rest_token
}
