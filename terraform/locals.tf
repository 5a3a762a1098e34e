# Values derived from variables only (resource attributes go next to their resource): the test
# suite plans this file with the variables and environments/*.tfvars, without any provider.
locals {
  # Names that wrangler.toml repeats in [env.<environment>]. Wrangler binds the buckets by name
  # and the API domain points at the Worker by name, so a mismatch deploys a Worker that writes
  # to a bucket nobody provisioned. test/terraform.node.test.ts evaluates these expressions
  # for every environments/*.tfvars and fails when they drift from wrangler.toml.
  worker_name = "rapport-${var.environment}"

  media_buckets = {
    images = {
      name     = "rapport-images-${var.environment}"
      hostname = var.images_hostname
    }
    audio = {
      name     = "rapport-audio-${var.environment}"
      hostname = var.audio_hostname
    }
  }

  # Only buckets with a hostname are readable by browsers, so only they need CORS and a domain.
  public_media_buckets = { for key, bucket in local.media_buckets : key => bucket if bucket.hostname != null }

  neon_project_name     = "rapport-${var.environment}"
  upstash_database_name = "rapport-${var.environment}"

  # Most requests touch Postgres and Redis one after the other, so Redis lives in the Upstash
  # region nearest the Neon region: same AWS region where Upstash has one, else the closest.
  upstash_region_for_neon = {
    "aws-us-east-1"      = "us-east-1"
    "aws-us-east-2"      = "us-east-1"
    "aws-us-west-2"      = "us-west-2"
    "aws-eu-central-1"   = "eu-central-1"
    "aws-eu-west-2"      = "eu-west-1"
    "aws-ap-southeast-1" = "ap-southeast-1"
    "aws-ap-southeast-2" = "ap-southeast-2"
    "aws-sa-east-1"      = "sa-east-1"
    "azure-eastus2"      = "us-east-1"
    "azure-westus3"      = "us-west-1"
    "azure-gwc"          = "eu-central-1"
  }
  upstash_primary_region = coalesce(var.upstash_primary_region, local.upstash_region_for_neon[var.neon_region])
}
