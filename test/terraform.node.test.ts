import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from '@cdktf/hcl2json'
import { unstable_readConfig } from 'wrangler'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationUrlOutput } from '../scripts/deploy'
import {
  OperatorError,
  readTerraformOutputs,
  secretOutputs,
  secretsFromOutputs,
  type TerraformOutputs,
} from '../scripts/secrets-from-terraform'

/**
 * terraform/ cannot be planned here (providers are not downloadable), so this suite checks what
 * can be checked offline: every file parses and is formatted, the providers are pinned, and —
 * the point of it — every name Terraform and wrangler.toml both use agrees, per environment.
 * Names are computed by evaluating the Terraform expressions with each environments/*.tfvars,
 * and that evaluation is itself checked against Terraform's own where the binary exists.
 */

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const terraformDir = join(repoRoot, 'terraform')
const environments = ['staging', 'production'] as const
type Environment = (typeof environments)[number]

// Terraform phones home for version checks unless told not to; this machine is offline.
const terraformEnv = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' }
const hasTerraform = spawnSync('terraform', ['version'], { env: terraformEnv }).status === 0
if (!hasTerraform) {
  console.warn('terraform is not on PATH: skipping `terraform fmt` and the Terraform-evaluated checks')
}

type Hcl = Record<string, any>

function terraformFiles(dir = terraformDir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === '.terraform' ? [] : terraformFiles(path)
    return /\.(tf|tfvars)$/.test(entry.name) ? [path] : []
  })
}

const parseFile = (path: string): Promise<Hcl> => parse(relative(repoRoot, path), readFileSync(path, 'utf8'))

/** The module's blocks merged across its .tf files, as hcl2json shapes them. */
interface Module {
  terraform: Hcl[]
  variables: Record<string, Hcl>
  locals: Record<string, unknown>
  resources: Record<string, Record<string, Hcl>>
  outputs: Record<string, Hcl>
}

let module: Module
const tfvars = {} as Record<Environment, Record<string, unknown>>

beforeAll(async () => {
  module = { terraform: [], variables: {}, locals: {}, resources: {}, outputs: {} }
  for (const path of terraformFiles().filter((p) => p.endsWith('.tf') && !p.includes('/environments/'))) {
    const hcl = await parseFile(path)
    module.terraform.push(...(hcl.terraform ?? []))
    for (const [name, [block]] of Object.entries<Hcl[]>(hcl.variable ?? {})) module.variables[name] = block!
    for (const block of hcl.locals ?? []) Object.assign(module.locals, block)
    for (const [type, byName] of Object.entries<Record<string, Hcl[]>>(hcl.resource ?? {})) {
      for (const [name, [block]] of Object.entries(byName)) (module.resources[type] ??= {})[name] = block!
    }
    for (const [name, [block]] of Object.entries<Hcl[]>(hcl.output ?? {})) module.outputs[name] = block!
  }
  for (const env of environments) {
    tfvars[env] = await parseFile(join(terraformDir, 'environments', `${env}.tfvars`))
  }
})

// --------------------------------------------------------------------------------------------
// A tiny evaluator for the expressions names are written in: string templates over var.*,
// local.* and each.*. Anything else throws, so an expression it cannot follow fails loudly
// instead of being compared as literal text.

interface Scope {
  vars: Record<string, unknown>
  each?: { key: string; value: unknown }
}

function evaluate(value: unknown, scope: Scope): unknown {
  if (Array.isArray(value)) return value.map((v) => evaluate(v, scope))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, scope)]))
  }
  if (typeof value !== 'string') return value
  const whole = /^\$\{([^{}]*)\}$/.exec(value)
  if (whole) return reference(whole[1]!.trim(), scope)
  const result = value.replace(/\$\{([^{}]*)\}/g, (_, expr: string) => {
    const part = reference(expr.trim(), scope)
    if (typeof part !== 'string') throw new Error(`\${${expr}} in a template is not a string`)
    return part
  })
  // Whatever is left is an expression the patterns above do not cover (a for expression, a
  // function call with braces, a %{ directive): refuse it rather than return it as text.
  if (/[$%]\{/.test(result)) throw new Error(`cannot evaluate ${value}`)
  return result
}

function reference(expr: string, scope: Scope): unknown {
  if (!/^[a-z_]\w*(\.[a-z_]\w*)+$/i.test(expr)) throw new Error(`cannot evaluate \${${expr}}`)
  const [root, first, ...path] = expr.split('.') as [string, string, ...string[]]
  let current: unknown
  if (root === 'var') {
    if (first in scope.vars) current = scope.vars[first]
    else if (module.variables[first] && 'default' in module.variables[first])
      current = module.variables[first].default
    else throw new Error(`var.${first} has no value`)
  } else if (root === 'local') {
    if (!(first in module.locals)) throw new Error(`local.${first} is not declared`)
    current = evaluate(module.locals[first], scope)
  } else if (root === 'each' && scope.each) {
    current = scope.each[first as 'key' | 'value']
  } else {
    throw new Error(`cannot evaluate \${${expr}}`)
  }
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !(key in current)) {
      throw new Error(`\${${expr}}: no attribute ${key}`)
    }
    current = evaluate((current as Record<string, unknown>)[key], scope)
  }
  return current
}

function resource(type: string, name: string): Hcl {
  const block = module.resources[type]?.[name]
  if (!block) throw new Error(`terraform declares no ${type}.${name}`)
  return block
}

/** Evaluate `attribute` of every instance of a for_each resource, keyed by instance key. */
function forEachAttribute(type: string, name: string, attribute: string, vars: Record<string, unknown>) {
  const block = resource(type, name)
  const instances = evaluate(block.for_each, { vars }) as Record<string, unknown>
  return Object.fromEntries(
    Object.entries(instances).map(([key, value]) => [
      key,
      evaluate(block[attribute], { vars, each: { key, value } }),
    ]),
  )
}

/** Which wrangler binding each Terraform bucket instance backs. */
const bindingForBucket: Record<string, string> = { images: 'IMAGES_BUCKET', audio: 'AUDIO_BUCKET' }

const wranglerConfig = (env: Environment) =>
  unstable_readConfig({ config: join(repoRoot, 'wrangler.toml'), env })

// --------------------------------------------------------------------------------------------

describe('terraform/ files', () => {
  it('all parse as HCL', async () => {
    const files = terraformFiles()
    expect(files.length).toBeGreaterThan(5)
    for (const path of files)
      await expect(parseFile(path), relative(repoRoot, path)).resolves.toBeTypeOf('object')
  })

  it('the parser rejects broken HCL, so the check above means something', async () => {
    await expect(parse('broken.tf', 'resource "cloudflare_r2_bucket" "x" {')).rejects.toThrow(/Unclosed/)
  })

  it('are compared through an evaluator that refuses what it cannot follow', () => {
    const scope = { vars: { environment: 'staging' } }
    expect(evaluate('rapport-images-${var.environment}', scope)).toBe('rapport-images-staging')
    expect(() => evaluate('${upper(var.environment)}', scope)).toThrow(/cannot evaluate/)
    expect(() => evaluate('${{ for k, v in local.media_buckets : k => v }}', scope)).toThrow(
      /cannot evaluate/,
    )
    expect(() => evaluate('${var.undeclared_anywhere}', scope)).toThrow(/has no value/)
  })

  it.skipIf(!hasTerraform)('are `terraform fmt` clean', () => {
    const result = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', terraformDir], {
      env: terraformEnv,
      encoding: 'utf8',
    })
    expect(result.stdout, 'run `terraform fmt -recursive terraform`').toBe('')
    expect(result.status).toBe(0)
  })

  it('pin every provider to an exact version, Cloudflare on v5', () => {
    const required = Object.assign({}, ...module.terraform.flatMap((t) => t.required_providers ?? []))
    expect(Object.keys(required).sort()).toEqual(['cloudflare', 'neon', 'upstash'])
    expect(required.cloudflare.source).toBe('cloudflare/cloudflare')
    // neon.tf and outputs.tf use the 0.17.0 schema (blocks, neon_role.password); later official
    // releases replaced it, so changing this pin means the rewrite described in terraform/README.md.
    expect(required.neon).toMatchObject({ source: 'neondatabase/neon', version: '0.17.0' })
    expect(required.upstash.source).toBe('upstash/upstash')
    for (const { version } of Object.values<Hcl>(required)) expect(version).toMatch(/^\d+\.\d+\.\d+$/)
    expect(required.cloudflare.version).toMatch(/^5\./)
  })

  it('leave the Worker, its bindings, queues and crons to wrangler', () => {
    const ownedByWrangler = [
      'cloudflare_worker',
      'cloudflare_worker_version',
      'cloudflare_workers_script',
      'cloudflare_workers_deployment',
      'cloudflare_workers_cron_trigger',
      'cloudflare_workers_route',
      'cloudflare_workers_secret',
      'cloudflare_queue',
      'cloudflare_queue_consumer',
    ]
    expect(Object.keys(module.resources).filter((type) => ownedByWrangler.includes(type))).toEqual([])
  })

  it('describe every variable, and validate every one that is not a switch', () => {
    for (const [name, variable] of Object.entries(module.variables)) {
      expect(variable.description, name).toMatch(/\S{3}/)
      expect(variable.type, name).toBeDefined()
      if (variable.type !== '${bool}')
        expect(variable.validation?.length ?? 0, `${name} validation`).toBeGreaterThan(0)
    }
  })

  it('mark every credential-bearing output sensitive, including those the scripts read', () => {
    const read = [...secretOutputs.map((s) => s.output), migrationUrlOutput]
    for (const name of read) expect(module.outputs[name]?.sensitive, name).toBe(true)
    for (const [name, output] of Object.entries(module.outputs)) {
      if (/password|token|database_url/.test(JSON.stringify(output.value)))
        expect(output.sensitive, name).toBe(true)
    }
  })
})

describe.each(environments)('terraform and wrangler.toml agree for %s', (env) => {
  const config = wranglerConfig(env)

  it('on the environment name', () => {
    expect(tfvars[env].environment).toBe(env)
    expect(config.vars.ENVIRONMENT).toBe(env)
  })

  it('on the R2 bucket behind each binding, with no bucket on one side only', () => {
    const names = forEachAttribute('cloudflare_r2_bucket', 'media', 'name', tfvars[env])
    const fromTerraform = Object.fromEntries(
      Object.entries(names).map(([key, name]) => [bindingForBucket[key], name]),
    )
    const fromWrangler = Object.fromEntries(config.r2_buckets.map((b: Hcl) => [b.binding, b.bucket_name]))
    expect(fromTerraform).toEqual(fromWrangler)
  })

  it('on the Worker the API hostname points at', () => {
    const domain = resource('cloudflare_workers_custom_domain', 'api')
    expect(evaluate(domain.service, { vars: tfvars[env] })).toBe(config.name)
    expect(evaluate('${local.worker_name}', { vars: tfvars[env] })).toBe(config.name)
  })

  it('on who owns the API hostname: Terraform attaches it, wrangler declares no routes', () => {
    expect(config.routes ?? []).toEqual([])
    expect(config.route).toBeUndefined()
    // Without workers.dev the custom domain is the only way in, so it must be attached.
    if (config.workers_dev === false)
      expect(evaluate('${var.attach_api_domain}', { vars: tfvars[env] })).toBe(true)
  })

  it('on the web app origins (R2 CORS and the API CORS_ORIGINS)', () => {
    // The rules are the same for every public bucket, so they are read without an instance.
    const rules = evaluate(resource('cloudflare_r2_bucket_cors', 'media').rules, {
      vars: tfvars[env],
    }) as Hcl[]
    const apiOrigins = String(config.vars.CORS_ORIGINS)
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean)
    expect(rules.map((rule) => [...rule.allowed.origins].sort())).toEqual([[...apiOrigins].sort()])
  })

  it('on the API address (PUBLIC_URL is the API custom domain)', () => {
    expect(config.vars.PUBLIC_URL).toBe(`https://${String(tfvars[env].api_hostname)}`)
  })

  it('on which settings are secrets: none of the secrets Terraform supplies is a plain var', () => {
    for (const { secret } of secretOutputs) expect(Object.keys(config.vars)).not.toContain(secret)
  })
})

describe.skipIf(!hasTerraform)('Terraform itself, on variables and locals (no providers needed)', () => {
  // variables.tf and locals.tf only, plus an output exposing the locals: `terraform plan` then
  // runs every validation and evaluates every local without touching a provider.
  let scratch: string

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'rapport-tf-'))
    for (const file of ['variables.tf', 'locals.tf'])
      copyFileSync(join(terraformDir, file), join(scratch, file))
    writeFileSync(
      join(scratch, 'probe.tf'),
      'output "probe" {\n  value = {\n    worker_name = local.worker_name\n    media_buckets = local.media_buckets\n  }\n}\n',
    )
    const init = spawnSync('terraform', ['init', '-input=false', '-no-color'], {
      cwd: scratch,
      env: terraformEnv,
    })
    expect(init.status, init.stderr?.toString()).toBe(0)
  })

  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  const plan = (...args: string[]) =>
    spawnSync('terraform', ['plan', '-input=false', '-no-color', '-out=probe.tfplan', ...args], {
      cwd: scratch,
      env: terraformEnv,
      encoding: 'utf8',
    })

  it.each(environments)(
    'accepts environments/%s.tfvars and computes the names the evaluator computes',
    (env) => {
      const result = plan(`-var-file=${join(terraformDir, 'environments', `${env}.tfvars`)}`)
      expect(result.status, result.stderr).toBe(0)
      const shown = spawnSync('terraform', ['show', '-json', 'probe.tfplan'], {
        cwd: scratch,
        env: terraformEnv,
        encoding: 'utf8',
      })
      const probe = JSON.parse(shown.stdout).output_changes.probe.after
      const scope = { vars: tfvars[env] }
      expect(probe.worker_name).toBe(evaluate('${local.worker_name}', scope))
      expect(probe.media_buckets).toEqual(evaluate('${local.media_buckets}', scope))
    },
  )

  it('rejects an environment wrangler.toml does not have', () => {
    const result = plan(
      `-var-file=${join(terraformDir, 'environments', 'staging.tfvars')}`,
      '-var=environment=prod',
    )
    expect(result.status).not.toBe(0)
    expect(result.stderr).toMatch(/environment must be "staging" or "production"/)
  })
})

describe('scripts/secrets-from-terraform.ts', () => {
  const outputs = (environment: string): TerraformOutputs => ({
    environment: { value: environment, sensitive: false },
    database_url: {
      value: 'postgresql://rapport_app:pw@ep-x-pooler.eu-central-1.aws.neon.tech/rapport',
      sensitive: true,
    },
    upstash_redis_rest_url: { value: 'https://eu1-x.upstash.io', sensitive: true },
    upstash_redis_rest_token: { value: 'token-value', sensitive: true },
  })

  it('maps the sensitive outputs to the Worker secrets', () => {
    expect(secretsFromOutputs(outputs('staging'), 'staging')).toEqual([
      {
        name: 'DATABASE_URL',
        value: 'postgresql://rapport_app:pw@ep-x-pooler.eu-central-1.aws.neon.tech/rapport',
      },
      { name: 'UPSTASH_REDIS_REST_URL', value: 'https://eu1-x.upstash.io' },
      { name: 'UPSTASH_REDIS_REST_TOKEN', value: 'token-value' },
    ])
    expect(secretsFromOutputs(outputs('staging'), 'staging', ['DATABASE_URL']).map((s) => s.name)).toEqual([
      'DATABASE_URL',
    ])
  })

  it("refuses another environment's outputs, missing state and non-sensitive credentials", () => {
    expect(() => secretsFromOutputs(outputs('staging'), 'production')).toThrow(
      /describe "staging", not "production"/,
    )
    expect(() => secretsFromOutputs({}, 'production')).toThrow(/has `terraform apply` run/)
    const leaky = outputs('staging')
    leaky.upstash_redis_rest_token!.sensitive = false
    expect(() => secretsFromOutputs(leaky, 'staging')).toThrow(OperatorError)
    expect(() => secretsFromOutputs(outputs('staging'), 'staging', ['JWT_SECRET'])).toThrow(
      /not from Terraform/,
    )
  })

  it("reads the named environment's state whatever workspace is selected", () => {
    const calls: { file: string; args: string[]; workspace?: string }[] = []
    const result = readTerraformOutputs('production', (file, args, env) => {
      calls.push({ file, args, workspace: env.TF_WORKSPACE })
      return JSON.stringify(outputs('production'))
    })
    expect(result.environment?.value).toBe('production')
    expect(calls).toEqual([
      { file: 'terraform', args: [`-chdir=${terraformDir}`, 'output', '-json'], workspace: 'production' },
    ])
    const missing = Object.assign(new Error('spawn terraform ENOENT'), { code: 'ENOENT' })
    expect(() =>
      readTerraformOutputs('staging', () => {
        throw missing
      }),
    ).toThrow(/not on PATH/)
  })

  it('prints the wrangler calls without the values on --dry-run, and refuses a mismatched --env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-secrets-'))
    try {
      const file = join(dir, 'outputs.json')
      writeFileSync(file, JSON.stringify(outputs('staging')))
      const run = (...args: string[]) =>
        spawnSync(
          process.execPath,
          [
            '--import',
            'tsx',
            join(repoRoot, 'scripts/secrets-from-terraform.ts'),
            ...args,
            '--outputs-file',
            file,
          ],
          { encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
        )
      const dry = run('--env', 'staging', '--dry-run')
      expect(dry.status, dry.stderr).toBe(0)
      expect(dry.stdout).toContain('npx wrangler secret put DATABASE_URL --env staging')
      expect(dry.stdout).toContain('npx wrangler secret put UPSTASH_REDIS_REST_TOKEN --env staging')
      expect(dry.stdout).toContain('JWT_SECRET')
      expect(dry.stdout).not.toContain('token-value')
      expect(dry.stdout).not.toContain(':pw@')

      const wrong = run('--env', 'production', '--dry-run')
      expect(wrong.status).toBe(2)
      expect(wrong.stderr).toMatch(/not "production"/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
