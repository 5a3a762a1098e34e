# Credentials come from the environment and never from variables, so they stay out of tfvars
# files and plan output: CLOUDFLARE_API_TOKEN, NEON_API_KEY, UPSTASH_EMAIL and UPSTASH_API_KEY.
# See README.md for the permissions each token needs.
provider "cloudflare" {}

provider "neon" {}

provider "upstash" {}
