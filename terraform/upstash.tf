# Redis for rate limits, cache and token revocations, reached over Upstash's REST API (the
# Worker cannot open raw TCP to Redis through @upstash/redis). Its data is rebuildable:
# replacing the database costs a cache warm-up and resets rate-limit windows, nothing more.

resource "upstash_redis_database" "this" {
  database_name = local.upstash_database_name
  # Upstash creates new databases as "global" ones whose location is the primary region.
  region         = "global"
  primary_region = local.upstash_primary_region
  read_regions   = length(var.upstash_read_regions) > 0 ? var.upstash_read_regions : null
  tls            = true
  eviction       = var.upstash_eviction
}
