// zod's `v4/classic/external.js` without `locales`, the schema compiler, the parse memoizer,
// `deepPartial` and the JSON Schema conversions (`toJSONSchema`, `fromJSONSchema`). Bundled in place of
// `zod` (wrangler.toml [alias]): @hono/zod-openapi passes zod's whole namespace object to
// extendZodWithOpenApi, which keeps every export alive, and the 40-odd locale modules alone are
// ~40 KiB of the gzipped Worker. English messages stay (the default locale is registered by
// ZodType itself). Keep in step with zod's own file when upgrading zod.
export * as core from './core.js'
export * from '../../../node_modules/zod/v4/classic/schemas.js'
export * from '../../../node_modules/zod/v4/classic/checks.js'
export * from '../../../node_modules/zod/v4/classic/errors.js'
export * from '../../../node_modules/zod/v4/classic/parse.js'
export * from '../../../node_modules/zod/v4/classic/compat.js'
export {
  globalRegistry,
  registry,
  config,
  $output,
  $input,
  $brand,
  clone,
  regexes,
  treeifyError,
  prettifyError,
  formatError,
  flattenError,
  TimePrecision,
  util,
  NEVER,
  toZod,
  getDiscriminatedOption,
} from './core.js'
export { input, output } from '../../../node_modules/zod/v4/classic/in-out.js'
export {
  ZodISODateTime,
  ZodISODate,
  ZodISOTime,
  ZodISODuration,
} from '../../../node_modules/zod/v4/classic/iso.js'
export * as iso from '../../../node_modules/zod/v4/classic/iso.js'
export * as coerce from '../../../node_modules/zod/v4/classic/coerce.js'
