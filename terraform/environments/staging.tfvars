# Staging. Committed on purpose: no secrets here (credentials come from environment variables,
# see README.md). Replace the example account, zone and hostnames with your own; keep
# app_origins equal to CORS_ORIGINS in wrangler.toml [env.staging.vars] (the tests check).
environment = "staging"

cloudflare_account_id = "0123456789abcdef0123456789abcdef"
cloudflare_zone_id    = "fedcba9876543210fedcba9876543210"
zone_name             = "rapport.example"
api_hostname          = "api.staging.rapport.example"
images_hostname       = "images.staging.rapport.example"
audio_hostname        = "audio.staging.rapport.example"
app_origins           = ["https://staging.rapport.example"]

neon_region                    = "aws-eu-central-1"
neon_history_retention_seconds = 21600
neon_compute_min_cu            = 0.25
neon_compute_max_cu            = 1
neon_suspend_timeout_seconds   = 300
