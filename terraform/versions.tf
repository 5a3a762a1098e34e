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
