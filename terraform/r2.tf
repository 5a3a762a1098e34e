# Media storage. The Worker reaches both buckets through the IMAGES_BUCKET and AUDIO_BUCKET
# bindings in wrangler.toml (no keys); Terraform owns only the buckets and how the public
# reads them.

resource "cloudflare_r2_bucket" "media" {
  for_each = local.media_buckets

  account_id = var.cloudflare_account_id
  name       = each.value.name
  location   = var.r2_location

  lifecycle {
    # Members' photos and voice bios exist nowhere else. Renaming, moving or removing a
    # bucket must be a deliberate edit of this file (README.md, "Destroying safely").
    prevent_destroy = true
  }
}

resource "cloudflare_r2_bucket_lifecycle" "media" {
  for_each = local.media_buckets

  account_id  = cloudflare_r2_bucket.media[each.key].account_id
  bucket_name = cloudflare_r2_bucket.media[each.key].name

  # Objects themselves are never expired by age: they live as long as the member's profile,
  # and the R2 clean-up cron deletes removed ones. Only uploads abandoned half-way (a Worker
  # that died between parts) are cleared, after a day.
  rules = [{
    id      = "abort-abandoned-multipart-uploads"
    enabled = true
    conditions = {
      prefix = ""
    }
    abort_multipart_uploads_transition = {
      condition = {
        type    = "Age"
        max_age = 86400
      }
    }
  }]
}

resource "cloudflare_r2_bucket_cors" "media" {
  for_each = local.public_media_buckets

  account_id  = cloudflare_r2_bucket.media[each.key].account_id
  bucket_name = cloudflare_r2_bucket.media[each.key].name

  # <img> and <audio> need no CORS; this covers the web app reading media with fetch(), such
  # as drawing a voice bio's waveform or seeking with Range requests. Uploads go through the
  # Worker, which validates them, so browsers are never allowed to write.
  rules = [{
    id = "web-app-reads"
    allowed = {
      methods = ["GET", "HEAD"]
      origins = var.app_origins
      headers = ["Range"]
    }
    expose_headers  = ["Content-Length", "Content-Range", "Content-Type", "ETag"]
    max_age_seconds = 3600
  }]
}

resource "cloudflare_r2_custom_domain" "media" {
  for_each = local.public_media_buckets

  account_id  = cloudflare_r2_bucket.media[each.key].account_id
  bucket_name = cloudflare_r2_bucket.media[each.key].name
  zone_id     = var.cloudflare_zone_id
  domain      = each.value.hostname
  enabled     = true
  min_tls     = "1.2"
}
