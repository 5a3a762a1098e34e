import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  checkMigrationTarget,
  describeDatabaseUrl,
  migrationsStatus,
  parseDeployArgs,
  preflightProblems,
  queueNames,
  repoRoot,
  resolveMigrationUrl,
  uncommittedMigrations,
} from '../scripts/deploy'
import { OperatorError, type TerraformOutputs } from '../scripts/secrets-from-terraform'

/**
 * The refusal logic of `npm run deploy`, exercised without deploying anything: no wrangler
 * call reaches Cloudflare and no database is touched. Git checks run against a throwaway
 * repository, never this one.
 */

describe('parseDeployArgs', () => {
  it('accepts the deployed environments', () => {
    expect(parseDeployArgs(['--env', 'production'])).toEqual({ environment: 'production', dryRun: false })
    expect(parseDeployArgs(['--env=staging', '--dry-run'])).toEqual({ environment: 'staging', dryRun: true })
  })

  it('refuses a missing, local or unknown environment', () => {
    expect(() => parseDeployArgs([])).toThrow(OperatorError)
    expect(() => parseDeployArgs(['--env', 'local'])).toThrow(/npm run dev/)
    expect(() => parseDeployArgs(['--env', 'prod'])).toThrow(/staging, production/)
  })
})

describe('uncommittedMigrations', () => {
  it('lists every modified, staged, untracked, deleted or renamed path', () => {
    const status = [
      ' M migrations/0000_init.sql',
      'A  migrations/0001_clubs.sql',
      '?? migrations/meta/0001_snapshot.json',
      ' D migrations/0002_old.sql',
      'R  migrations/0003_new.sql',
      'migrations/0003_old.sql',
      '',
    ].join('\0')
    expect(uncommittedMigrations(status)).toEqual([
      'migrations/0000_init.sql',
      'migrations/0001_clubs.sql',
      'migrations/meta/0001_snapshot.json',
      'migrations/0002_old.sql',
      'migrations/0003_new.sql',
    ])
  })

  it('is empty for a clean tree', () => {
    expect(uncommittedMigrations('')).toEqual([])
  })
})

describe('migrationsStatus in a git repository', () => {
  let repo: string
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
      cwd: repo,
      stdio: 'pipe',
    })
  const pending = () => uncommittedMigrations(migrationsStatus(repo))

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'rapport-deploy-git-'))
    git('init', '--quiet')
    mkdirSync(join(repo, 'migrations', 'meta'), { recursive: true })
    writeFileSync(join(repo, 'migrations', '0000_init.sql'), 'create table a ();\n')
    writeFileSync(join(repo, 'README.md'), 'x\n')
    git('add', '.')
    git('commit', '--quiet', '-m', 'init')
  })

  afterEach(() => rmSync(repo, { recursive: true, force: true }))

  it('passes a tree whose migrations are committed, whatever else changed', () => {
    writeFileSync(join(repo, 'README.md'), 'changed\n')
    writeFileSync(join(repo, 'notes.txt'), 'untracked elsewhere\n')
    expect(pending()).toEqual([])
  })

  it('catches a generated migration that was never added', () => {
    writeFileSync(join(repo, 'migrations', '0001_clubs.sql'), 'create table b ();\n')
    writeFileSync(join(repo, 'migrations', 'meta', '_journal.json'), '{}\n')
    expect(pending().sort()).toEqual(['migrations/0001_clubs.sql', 'migrations/meta/_journal.json'])
  })

  it('catches staged-only and edited migrations', () => {
    writeFileSync(join(repo, 'migrations', '0000_init.sql'), 'create table a (id int);\n')
    expect(pending()).toEqual(['migrations/0000_init.sql'])
    git('add', 'migrations')
    expect(pending()).toEqual(['migrations/0000_init.sql'])
  })

  it('refuses outside a git work tree rather than assuming all is committed', () => {
    const plain = mkdtempSync(join(tmpdir(), 'rapport-deploy-plain-'))
    try {
      expect(() => migrationsStatus(plain)).toThrow(/cannot prove migrations are committed/)
    } finally {
      rmSync(plain, { recursive: true, force: true })
    }
  })
})

describe('preflightProblems', () => {
  it('refuses uncommitted migrations without spending time on the type-check', () => {
    const typecheck = vi.fn(() => true)
    const problems = preflightProblems({ migrationsStatus: () => '?? migrations/0001_x.sql\0', typecheck })
    expect(problems).toEqual([expect.stringMatching(/uncommitted migrations[\s\S]*migrations\/0001_x\.sql/)])
    expect(typecheck).not.toHaveBeenCalled()
  })

  it('refuses a failing type-check', () => {
    expect(preflightProblems({ migrationsStatus: () => '', typecheck: () => false })).toEqual([
      expect.stringMatching(/type-check failed/),
    ])
  })

  it('lets a clean, type-correct tree through', () => {
    expect(preflightProblems({ migrationsStatus: () => '', typecheck: () => true })).toEqual([])
  })
})

describe('the migration target', () => {
  const neonUrl =
    'postgresql://rapport_app:s3cr%40t@ep-cool-123.eu-central-1.aws.neon.tech/rapport?sslmode=require'

  it('must be a remote Postgres, never the local one a dev shell points at', () => {
    expect(() => checkMigrationTarget(neonUrl)).not.toThrow()
    expect(() => checkMigrationTarget('postgres://postgres@127.0.0.1:5432/rapport')).toThrow(/local database/)
    expect(() => checkMigrationTarget('postgres://u@localhost/rapport')).toThrow(/local database/)
    expect(() => checkMigrationTarget('mysql://u@db.example/rapport')).toThrow(/postgres/)
    expect(() => checkMigrationTarget('not a url')).toThrow(OperatorError)
  })

  it('is logged without its password', () => {
    expect(describeDatabaseUrl(neonUrl)).toBe('rapport_app@ep-cool-123.eu-central-1.aws.neon.tech/rapport')
  })

  it("comes from DEPLOY_DATABASE_URL, else the environment's Terraform outputs, never DATABASE_URL", () => {
    const outputs: TerraformOutputs = {
      environment: { value: 'production' },
      database_url_direct: { value: neonUrl, sensitive: true },
    }
    const readOutputs = vi.fn(() => outputs)
    expect(
      resolveMigrationUrl('production', { DEPLOY_DATABASE_URL: 'postgres://u@db.example/x' }, readOutputs),
    ).toEqual({ url: 'postgres://u@db.example/x', source: 'DEPLOY_DATABASE_URL' })
    expect(readOutputs).not.toHaveBeenCalled()

    const fromTerraform = resolveMigrationUrl(
      'production',
      { DATABASE_URL: 'postgres://127.0.0.1/dev' },
      readOutputs,
    )
    expect(fromTerraform.url).toBe(neonUrl)
    expect(readOutputs).toHaveBeenCalledWith('production')

    expect(() => resolveMigrationUrl('staging', {}, () => outputs)).toThrow(
      /describe "production", not "staging"/,
    )
  })
})

describe('queueNames', () => {
  it.each(['staging', 'production'] as const)(
    'lists the %s jobs queue, its dead-letter queue and the push queue once each',
    (env) => {
      expect(queueNames(env)).toEqual([
        `rapport-jobs-${env}`,
        `rapport-push-${env}`,
        `rapport-jobs-dlq-${env}`,
      ])
    },
  )
})

describe('npm run deploy', () => {
  it('exits with a refusal, before touching anything, for an environment it does not deploy', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'scripts/deploy.ts'), '--env', 'local'],
      {
        encoding: 'utf8',
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      },
    )
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/--env must be one of staging, production/)
  })
})
