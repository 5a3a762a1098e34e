// zod's `v4/core/index.js` without `locales`, the schema compiler (`compile`, `withParser`), the
// optional parse `memoizer` and the JSON Schema exports (`toJSONSchema`, `JSONSchemaGenerator`,
// `JSONSchema`), none of which Rapport or @hono/zod-openapi uses: see external.js.
export * from '../../../node_modules/zod/v4/core/core.js'
export * from '../../../node_modules/zod/v4/core/parse.js'
export * from '../../../node_modules/zod/v4/core/errors.js'
export * from '../../../node_modules/zod/v4/core/schemas.js'
export * from '../../../node_modules/zod/v4/core/checks.js'
export * from '../../../node_modules/zod/v4/core/versions.js'
export * as util from '../../../node_modules/zod/v4/core/util.js'
export { toZod } from '../../../node_modules/zod/v4/core/util.js'
export * as regexes from '../../../node_modules/zod/v4/core/regexes.js'
export * from '../../../node_modules/zod/v4/core/registries.js'
export * from '../../../node_modules/zod/v4/core/doc.js'
export * from '../../../node_modules/zod/v4/core/api.js'
export * from '../../../node_modules/zod/v4/core/to-json-schema.js'
