terraform {
  # Variable validations below refer to other variables, which Terraform allows from 1.9.
  required_version = ">= 1.9.0"

  # Exact pins: a provider upgrade is a reviewed change (`terraform init -upgrade`, read the
  # plan), never something a fresh `init` picks up on its own. Commit .terraform.lock.hcl.
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "5.21.0"
    }
    # neondatabase/neon 0.17.0: the release in the official repository whose schema these files
    # use (`branch {}` / `primary_compute {}` blocks, `neon_role.password`; CHANGELOG v0.17.0,
    # docs/resources/project.md). Later official releases are a rewrite (nested attributes,
    # booleans, passwords only through ephemeral resources): upgrading is a rewrite of neon.tf and
    # outputs.tf, see README.md "Moving to the rewritten neondatabase/neon". Unverified offline:
    # the first `terraform init` with network access confirms the registry serves this version.
    neon = {
      source  = "neondatabase/neon"
      version = "0.17.0"
    }
    upstash = {
      source  = "upstash/upstash"
      version = "2.1.0"
    }
  }
}
