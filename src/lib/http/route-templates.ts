/**
 * The route templates this Worker serves with a tier × route rate limit (`GET /api/v1/x/{id}`, the
 * OpenAPI spelling), recorded as routers register them at start-up. A rate-limit rule may only
 * name one of these: a rule for a route that does not exist would never apply.
 */
const templates = new Set<string>()

/** Record a served route (called by the router factory for every limited route). */
export function registerRouteTemplate(method: string, path: string): void {
  templates.add(`${method.toUpperCase()} ${path.replace(/:([A-Za-z_][\w-]*)/g, '{$1}')}`)
}

/**
 * Whether `template` (canonical form, see normalizeRouteTemplate) is a served, limited route.
 *
 * @example
 * isServedRouteTemplate('POST /api/v1/search') // true
 */
export function isServedRouteTemplate(template: string): boolean {
  return templates.has(template)
}
