import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

/**
 * Copy the credentials Terraform created (Neon, Upstash) into the Worker's secrets:
 * `terraform output -json` → one `wrangler secret put NAME --env <environment>` per secret, the
 * value written to wrangler's stdin so it never appears in a process list or shell history.
 *
 * @example
 * npm run secrets:from-terraform -- --env production
 * npm run secrets:from-terraform -- --env production --only DATABASE_URL   # after a rotation
 * npm run secrets:from-terraform -- --env staging --dry-run                # names only, no calls
 */

export const deployEnvironments = ['staging', 'production'] as const
export type DeployEnvironment = (typeof deployEnvironments)[number]

export const terraformDir = fileURLToPath(new URL('../terraform', import.meta.url))

/** Worker secret ← sensitive Terraform output (terraform/outputs.tf). */
export const secretOutputs = [
  { secret: 'DATABASE_URL', output: 'database_url' },
  { secret: 'UPSTASH_REDIS_REST_URL', output: 'upstash_redis_rest_url' },
  { secret: 'UPSTASH_REDIS_REST_TOKEN', output: 'upstash_redis_rest_token' },
] as const

/** Worker secrets Terraform does not create: they come from people or third parties. */
export const manualSecrets = [
  { secret: 'JWT_SECRET', hint: 'openssl rand -hex 32 | npx wrangler secret put JWT_SECRET --env <env>' },
  { secret: 'SMTP_USER', hint: "the mail provider's SMTP user name" },
  { secret: 'SMTP_PASS', hint: "the mail provider's SMTP password or API key" },
  { secret: 'OPENAI_API_KEY', hint: 'an OpenAI API key (selfie verification); optional' },
  { secret: 'STRIPE_SECRET_KEY', hint: "Stripe's secret API key (web purchases); optional" },
  { secret: 'STRIPE_WEBHOOK_SECRET', hint: "the Stripe webhook endpoint's signing secret (whsec_…)" },
  {
    secret: 'REVENUECAT_WEBHOOK_AUTH_SHA256',
    hint: "printf %s '<Authorization value set in RevenueCat>' | sha256sum (app-store purchases); optional",
  },
  {
    secret: 'REVENUECAT_WEBHOOK_SIGNING_SECRET',
    hint: "RevenueCat's webhook signing secret, when signing is on",
  },
] as const

export type TerraformOutputs = Record<string, { value: unknown; sensitive?: boolean; type?: unknown }>

/** Anything the operator must fix before secrets can be copied; printed without a stack. */
export class OperatorError extends Error {
  override name = 'OperatorError'
}

export function isDeployEnvironment(value: unknown): value is DeployEnvironment {
  return deployEnvironments.includes(value as DeployEnvironment)
}

/**
 * `terraform output -json` for one environment. TF_WORKSPACE selects that environment's state
 * whatever workspace the directory has selected, so a shell left on staging cannot hand
 * staging's credentials to production.
 */
export function readTerraformOutputs(
  environment: DeployEnvironment,
  run: (file: string, args: string[], env: NodeJS.ProcessEnv) => string = (file, args, env) =>
    execFileSync(file, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
): TerraformOutputs {
  let stdout: string
  try {
    stdout = run('terraform', [`-chdir=${terraformDir}`, 'output', '-json'], {
      ...process.env,
      TF_WORKSPACE: environment,
    })
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string }
    if (e.code === 'ENOENT') throw new OperatorError('terraform is not on PATH')
    throw new OperatorError(`terraform output failed: ${(e.stderr || e.message).trim()}`)
  }
  return JSON.parse(stdout) as TerraformOutputs
}

/**
 * The string value of one output, after checking the outputs describe `environment`: the
 * `environment` output is written by the same apply that wrote the credentials.
 */
export function outputString(
  outputs: TerraformOutputs,
  name: string,
  environment: DeployEnvironment,
): string {
  const described = outputs.environment?.value
  if (described === undefined) {
    throw new OperatorError(
      `no Terraform outputs for ${environment}: has \`terraform apply\` run in workspace "${environment}"?`,
    )
  }
  if (described !== environment) {
    throw new OperatorError(`these Terraform outputs describe "${String(described)}", not "${environment}"`)
  }
  const output = outputs[name]
  if (!output) throw new OperatorError(`Terraform output "${name}" is missing (terraform/outputs.tf)`)
  if (typeof output.value !== 'string' || output.value === '') {
    throw new OperatorError(`Terraform output "${name}" is not a non-empty string`)
  }
  return output.value
}

/**
 * The Worker secrets held in Terraform outputs, optionally restricted to `only`.
 * Refuses an output that is not marked sensitive: it would already have been printed by every
 * plan and apply, so it must be treated as leaked rather than copied quietly.
 */
export function secretsFromOutputs(
  outputs: TerraformOutputs,
  environment: DeployEnvironment,
  only?: readonly string[],
): { name: string; value: string }[] {
  const known = secretOutputs.map((s) => s.secret as string)
  const unknown = (only ?? []).filter((name) => !known.includes(name))
  if (unknown.length) {
    throw new OperatorError(`--only ${unknown.join(', ')}: not from Terraform (known: ${known.join(', ')})`)
  }
  return secretOutputs
    .filter(({ secret }) => !only?.length || only.includes(secret))
    .map(({ secret, output }) => {
      const value = outputString(outputs, output, environment)
      if (outputs[output]?.sensitive !== true) {
        throw new OperatorError(`Terraform output "${output}" holds ${secret} but is not marked sensitive`)
      }
      return { name: secret, value }
    })
}

/** Arguments of the wrangler call that stores one secret; the value travels on stdin. */
export function secretPutArgs(name: string, environment: DeployEnvironment): string[] {
  return ['wrangler', 'secret', 'put', name, '--env', environment]
}

function putSecret(name: string, value: string, environment: DeployEnvironment) {
  const result = spawnSync('npx', secretPutArgs(name, environment), {
    input: value,
    stdio: ['pipe', 'inherit', 'inherit'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  })
  if (result.status !== 0)
    throw new OperatorError(`wrangler secret put ${name} failed (exit ${result.status})`)
}

function main(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      env: { type: 'string' },
      only: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'outputs-file': { type: 'string' },
    },
  })
  const environment = values.env
  if (!isDeployEnvironment(environment)) {
    throw new OperatorError(`--env must be one of ${deployEnvironments.join(', ')}`)
  }
  const outputs = values['outputs-file']
    ? (JSON.parse(readFileSync(values['outputs-file'], 'utf8')) as TerraformOutputs)
    : readTerraformOutputs(environment)
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const secrets = secretsFromOutputs(outputs, environment, only)

  for (const { name, value } of secrets) {
    if (values['dry-run']) {
      console.log(
        `would run: npx ${secretPutArgs(name, environment).join(' ')}  (${value.length} chars on stdin)`,
      )
    } else {
      putSecret(name, value, environment)
      console.log(`secrets: ${name} set on the ${environment} Worker`)
    }
  }
  if (!only?.length) {
    console.log(
      `\nNot managed by Terraform; set them with \`npx wrangler secret put NAME --env ${environment}\`:`,
    )
    for (const { secret, hint } of manualSecrets)
      console.log(`  ${secret}: ${hint.replace('<env>', environment)}`)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2))
  } catch (err) {
    console.error(`secrets:from-terraform: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(err instanceof OperatorError ? 2 : 1)
  }
}
