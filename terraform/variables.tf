# One state per environment: select the workspace named after the environment, then pass its
# file, e.g. `terraform workspace select production` and `-var-file=environments/production.tfvars`.

variable "environment" {
  type        = string
  description = "Deployment environment. Must equal the wrangler.toml environment ([env.staging] or [env.production]) and the selected Terraform workspace; every resource name derives from it."

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be \"staging\" or \"production\" (local development needs no cloud resources)."
  }
}

# ------------------------------------------------------------------------------------------
# Cloudflare

variable "cloudflare_account_id" {
  type        = string
  description = "Cloudflare account that owns the Worker and the R2 buckets (Dashboard → Workers & Pages → Account ID)."

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.cloudflare_account_id))
    error_message = "cloudflare_account_id must be the 32-character hexadecimal account ID."
  }
}

variable "cloudflare_zone_id" {
  type        = string
  description = "Zone (domain) that holds the API and media hostnames (Dashboard → the domain → Overview → Zone ID)."

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.cloudflare_zone_id))
    error_message = "cloudflare_zone_id must be the 32-character hexadecimal zone ID."
  }
}

variable "zone_name" {
  type        = string
  description = "Domain name of cloudflare_zone_id, e.g. \"rapport.example\". Every hostname below must be inside it."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.zone_name))
    error_message = "zone_name must be a lower-case domain name such as \"rapport.example\"."
  }
}

variable "api_hostname" {
  type        = string
  description = "Hostname that serves the API (custom domain of the Worker), e.g. \"api.rapport.example\"."

  validation {
    condition     = var.api_hostname == var.zone_name || endswith(var.api_hostname, ".${var.zone_name}")
    error_message = "api_hostname must be zone_name or a subdomain of it."
  }
}

variable "attach_api_domain" {
  type        = bool
  default     = true
  description = "Attach api_hostname to the Worker. Cloudflare attaches a custom domain only to a Worker that exists, so the very first apply of an environment sets this to false; apply again with true after the first deploy (docs/OPERATIONS.md)."
}

variable "images_hostname" {
  type        = string
  default     = null
  description = "Public hostname of the images bucket (R2 custom domain), e.g. \"images.rapport.example\". null keeps the bucket private: media is then only reachable through the Worker."

  validation {
    condition     = var.images_hostname == null ? true : endswith(var.images_hostname, ".${var.zone_name}")
    error_message = "images_hostname must be a subdomain of zone_name (or null)."
  }
}

variable "audio_hostname" {
  type        = string
  default     = null
  description = "Public hostname of the audio bucket (R2 custom domain), e.g. \"audio.rapport.example\". null keeps the bucket private."

  validation {
    condition     = var.audio_hostname == null ? true : endswith(var.audio_hostname, ".${var.zone_name}")
    error_message = "audio_hostname must be a subdomain of zone_name (or null)."
  }
}

variable "app_origins" {
  type        = list(string)
  description = "Origins of the web app, allowed to read public media with fetch() (R2 CORS). Must list the same origins as CORS_ORIGINS in wrangler.toml for this environment; the test suite compares them."

  validation {
    condition     = length(var.app_origins) > 0 && alltrue([for origin in var.app_origins : origin == "*" || can(regex("^https?://[a-z0-9.-]+(:[0-9]+)?$", origin))])
    error_message = "app_origins must be a non-empty list of origins without path or trailing slash (\"https://app.example\"), or [\"*\"]."
  }
}

variable "r2_location" {
  type        = string
  default     = null
  description = "R2 location hint for both buckets (wnam, enam, weur, eeur, apac, oc). null lets Cloudflare place them near the caller of the first apply. Changing it replaces the buckets, which prevent_destroy refuses."

  validation {
    condition     = var.r2_location == null ? true : contains(["wnam", "enam", "weur", "eeur", "apac", "oc"], var.r2_location)
    error_message = "r2_location must be one of wnam, enam, weur, eeur, apac, oc (or null)."
  }
}

variable "extra_dns_records" {
  type = map(object({
    type     = string
    name     = string
    content  = string
    ttl      = optional(number, 1)
    proxied  = optional(bool, false)
    priority = optional(number)
    comment  = optional(string)
  }))
  default     = {}
  description = "Further DNS records of the zone, keyed by a stable label. Meant for the mail provider's SPF, DKIM and DMARC records, without which mail from SMTP_FROM lands in spam. name is the full record name (\"_dmarc.rapport.example\"); ttl 1 means automatic."

  validation {
    condition     = alltrue([for record in values(var.extra_dns_records) : contains(["A", "AAAA", "CAA", "CNAME", "MX", "TXT", "SRV"], record.type)])
    error_message = "extra_dns_records: type must be one of A, AAAA, CAA, CNAME, MX, TXT, SRV."
  }

  validation {
    condition     = alltrue([for record in values(var.extra_dns_records) : record.name == var.zone_name || endswith(record.name, ".${var.zone_name}")])
    error_message = "extra_dns_records: name must be the full record name inside zone_name."
  }

  validation {
    condition     = alltrue([for record in values(var.extra_dns_records) : record.ttl == 1 || (record.ttl >= 60 && record.ttl <= 86400)])
    error_message = "extra_dns_records: ttl must be 1 (automatic) or between 60 and 86400 seconds."
  }
}

# ------------------------------------------------------------------------------------------
# Neon

variable "neon_org_id" {
  type        = string
  default     = null
  description = "Neon organization that owns the project (Neon console → Organization settings). null uses the API key's own account."

  validation {
    condition     = var.neon_org_id == null ? true : can(regex("^org-[a-z0-9-]+$", var.neon_org_id))
    error_message = "neon_org_id must look like \"org-restless-silence-28866559\" (or be null)."
  }
}

variable "neon_region" {
  type        = string
  description = "Neon region of the project, e.g. \"aws-eu-central-1\". Also picks the Upstash primary region (nearest one, see locals.tf) unless upstash_primary_region is set."

  validation {
    condition = contains([
      "aws-us-east-1", "aws-us-east-2", "aws-us-west-2", "aws-eu-central-1", "aws-eu-west-2",
      "aws-ap-southeast-1", "aws-ap-southeast-2", "aws-sa-east-1",
      "azure-eastus2", "azure-westus3", "azure-gwc",
    ], var.neon_region)
    error_message = "neon_region must be a Neon region id such as \"aws-eu-central-1\" (see locals.tf for the list)."
  }
}

variable "neon_pg_version" {
  type        = number
  default     = 17
  description = "PostgreSQL major version. Fixed at creation: changing it would replace the project, which prevent_destroy refuses."

  validation {
    condition     = contains([15, 16, 17, 18], var.neon_pg_version)
    error_message = "neon_pg_version must be 15, 16, 17 or 18."
  }
}

variable "neon_history_retention_seconds" {
  type        = number
  default     = 21600
  description = "Point-in-time restore window in seconds. The default (6 hours) is allowed on every Neon plan; paid plans allow up to 7 or 30 days. It bounds how far back docs/OPERATIONS.md can restore."

  validation {
    condition     = var.neon_history_retention_seconds >= 0 && var.neon_history_retention_seconds <= 2592000
    error_message = "neon_history_retention_seconds must be between 0 and 2592000 (30 days)."
  }
}

variable "neon_branch_name" {
  type        = string
  default     = "main"
  description = "Name of the project's root branch, the system of record. Restores and rehearsals create short-lived child branches next to it (docs/OPERATIONS.md)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", var.neon_branch_name))
    error_message = "neon_branch_name must be lower-case letters, digits, - or _."
  }
}

variable "neon_database_name" {
  type        = string
  default     = "rapport"
  description = "Database the Worker and the migrations use."

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.neon_database_name))
    error_message = "neon_database_name must be a lower-case PostgreSQL identifier."
  }
}

variable "neon_role_name" {
  type        = string
  default     = "rapport_app"
  description = "Role that owns the database; DATABASE_URL logs in as it. Neon generates its password."

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.neon_role_name))
    error_message = "neon_role_name must be a lower-case PostgreSQL identifier."
  }
}

variable "neon_compute_min_cu" {
  type        = number
  default     = 0.25
  description = "Lower autoscaling limit of the primary compute, in compute units (1 CU ≈ 4 GB RAM)."

  validation {
    condition     = var.neon_compute_min_cu >= 0.25 && var.neon_compute_min_cu <= var.neon_compute_max_cu
    error_message = "neon_compute_min_cu must be at least 0.25 and not above neon_compute_max_cu."
  }
}

variable "neon_compute_max_cu" {
  type        = number
  default     = 1
  description = "Upper autoscaling limit of the primary compute, in compute units."

  validation {
    condition     = var.neon_compute_max_cu >= 0.25 && var.neon_compute_max_cu <= 16
    error_message = "neon_compute_max_cu must be between 0.25 and 16."
  }
}

variable "neon_suspend_timeout_seconds" {
  type        = number
  default     = 300
  description = "Idle seconds before the compute scales to zero; 0 uses Neon's default, -1 never suspends (paid plans). A suspended compute wakes on the next query in about a second, and resets pg_stat_statements."

  validation {
    condition     = var.neon_suspend_timeout_seconds == -1 || (var.neon_suspend_timeout_seconds >= 0 && var.neon_suspend_timeout_seconds <= 604800)
    error_message = "neon_suspend_timeout_seconds must be -1 or between 0 and 604800."
  }
}

# ------------------------------------------------------------------------------------------
# Upstash

variable "upstash_primary_region" {
  type        = string
  default     = null
  description = "Upstash primary region. null picks the one nearest neon_region, since requests touch both stores."

  validation {
    condition = var.upstash_primary_region == null ? true : contains([
      "us-east-1", "us-west-1", "us-west-2", "eu-central-1", "eu-west-1", "sa-east-1", "ap-southeast-1", "ap-southeast-2",
    ], var.upstash_primary_region)
    error_message = "upstash_primary_region must be an Upstash region such as \"eu-central-1\" (or null)."
  }
}

variable "upstash_read_regions" {
  type        = set(string)
  default     = []
  description = "Extra Upstash read regions. Rate limiting writes on every request, so replicas help only cache reads; empty is right for most deployments."

  validation {
    condition = alltrue([for region in var.upstash_read_regions : contains([
      "us-east-1", "us-west-1", "us-west-2", "eu-central-1", "eu-west-1", "sa-east-1", "ap-southeast-1", "ap-southeast-2",
    ], region)])
    error_message = "upstash_read_regions must contain Upstash regions only."
  }
}

variable "upstash_eviction" {
  type        = bool
  default     = false
  description = "Let Upstash evict keys when the database is full. Off by default: Redis holds token revocations and rate-limit counters, and evicting those would silently re-admit revoked tokens."
}
