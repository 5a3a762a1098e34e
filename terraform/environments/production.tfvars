# Production. Committed on purpose: no secrets here (credentials come from environment
# variables, see README.md). Replace the example account, zone and hostnames with your own;
# keep app_origins equal to CORS_ORIGINS in wrangler.toml [env.production.vars] (the tests check).
environment = "production"

cloudflare_account_id = "0123456789abcdef0123456789abcdef"
cloudflare_zone_id    = "fedcba9876543210fedcba9876543210"
zone_name             = "rapport.example"
api_hostname          = "api.rapport.example"
images_hostname       = "images.rapport.example"
audio_hostname        = "audio.rapport.example"
app_origins           = ["https://rapport.example"]
r2_location           = "weur"

neon_region = "aws-eu-central-1"
# Seven days of point-in-time restore needs a paid Neon plan; the free plan allows 6 hours.
neon_history_retention_seconds = 604800
neon_compute_min_cu            = 0.5
neon_compute_max_cu            = 2
neon_suspend_timeout_seconds   = 300

# The mail provider's records for SMTP_FROM's domain. Example values: copy yours from the
# provider's domain-verification page.
extra_dns_records = {
  spf = {
    type    = "TXT"
    name    = "rapport.example"
    content = "\"v=spf1 include:spf.mail-provider.example ~all\""
  }
  dmarc = {
    type    = "TXT"
    name    = "_dmarc.rapport.example"
    content = "\"v=DMARC1; p=quarantine; rua=mailto:dmarc@rapport.example\""
  }
}
