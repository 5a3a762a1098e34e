# Postgres, the system of record. One Neon project per environment keeps staging's data and
# credentials apart from production's; the project's root branch holds the data, and child
# branches are made on demand (restores, rehearsals) with neonctl, outside Terraform.
#
# Written in the schema of the pinned neondatabase/neon 0.17.0 (versions.tf): blocks, not nested attributes.
# neondatabase/neon needs a rewrite of this file and outputs.tf; README.md lists the steps.

resource "neon_project" "this" {
  name                      = local.neon_project_name
  org_id                    = var.neon_org_id
  region_id                 = var.neon_region
  pg_version                = var.neon_pg_version
  history_retention_seconds = var.neon_history_retention_seconds

  # The root branch. Its compute (the project's primary compute) serves the Worker; Neon allows
  # one read-write compute per branch, so there is no separate neon_endpoint.
  branch {
    name = var.neon_branch_name
  }

  primary_compute {
    autoscaling_limit_min_cu = var.neon_compute_min_cu
    autoscaling_limit_max_cu = var.neon_compute_max_cu
    suspend_timeout_seconds  = var.neon_suspend_timeout_seconds
  }

  lifecycle {
    # Deleting a Neon project deletes its branches and its restore history with it.
    prevent_destroy = true

    precondition {
      condition     = terraform.workspace == var.environment
      error_message = "The selected workspace does not match var.environment: run `terraform workspace select ${var.environment}` (each environment keeps its own state)."
    }
  }
}

# The Worker's own login role rather than the project's default owner, so its password can be
# reset (docs/OPERATIONS.md, "Rotating secrets") without touching the console's access.
resource "neon_role" "app" {
  project_id = neon_project.this.id
  branch_id  = neon_project.this.default_branch_id
  name       = var.neon_role_name
}

resource "neon_database" "app" {
  project_id = neon_project.this.id
  branch_id  = neon_project.this.default_branch_id
  name       = var.neon_database_name
  # Owning the database lets the migrations (run as this role) create and alter tables.
  owner_name = neon_role.app.name

  lifecycle {
    prevent_destroy = true
  }
}
