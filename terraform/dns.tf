# Hostnames. The API domain and the media domains (r2.tf) each create their own proxied DNS
# record and certificate; the records below are only the ones nothing else manages.

resource "cloudflare_workers_custom_domain" "api" {
  # Cloudflare refuses to attach a domain to a Worker that does not exist yet, hence the
  # switch for an environment's first apply (docs/OPERATIONS.md, "First deployment").
  count = var.attach_api_domain ? 1 : 0

  account_id = var.cloudflare_account_id
  zone_id    = var.cloudflare_zone_id
  hostname   = var.api_hostname
  # The Worker is created and updated by `wrangler deploy --env <environment>`; Terraform only
  # points the hostname at it, by the name wrangler.toml gives it.
  service = local.worker_name
}

resource "cloudflare_dns_record" "extra" {
  for_each = var.extra_dns_records

  zone_id  = var.cloudflare_zone_id
  type     = each.value.type
  name     = each.value.name
  content  = each.value.content
  ttl      = each.value.ttl
  proxied  = each.value.proxied
  priority = each.value.priority
  comment  = each.value.comment
}
