import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The layering the Worker's sources keep, read from their import statements: the Durable Objects
 * in durable-objects/ sit on top of the services and are reached only from the Worker entry (which
 * exports them) and env.ts (which names their types), so nothing they import can lead back to them.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const sourceDirs = ['src', 'durable-objects', 'cron']

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

const files = new Set(sourceDirs.flatMap(sourceFiles))

/** Relative imports of one file (static, dynamic, re-exports; type-only ones flagged), resolved to files. */
function importsOf(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(join(root, file), 'utf8')
  const found: { target: string; typeOnly: boolean }[] = []
  const pattern =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g
  for (const m of text.matchAll(pattern)) {
    const spec = m[3] ?? m[4]!
    const base = join(dirname(file), spec)
    const target = [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => files.has(candidate))
    if (target) found.push({ target, typeOnly: Boolean(m[2]) })
  }
  return found
}

const graph = new Map([...files].map((file) => [file, importsOf(file)]))
const isObject = (file: string) => file.startsWith('durable-objects/')

describe('import graph', () => {
  it('reads the sources (a sanity check on the parser)', () => {
    expect(graph.get('src/index.ts')!.map((i) => i.target)).toContain('durable-objects/conversation.ts')
    expect(graph.size).toBeGreaterThan(100)
  })

  it('lets only the entry point and env.ts (types) import durable-objects/', () => {
    const importers = [...graph]
      .filter(([file]) => !isObject(file))
      .flatMap(([file, imports]) =>
        imports.filter((i) => isObject(i.target)).map((i) => `${file}${i.typeOnly ? ' (type)' : ''}`),
      )
    expect([...new Set(importers)].sort()).toEqual(['src/env.ts (type)', 'src/index.ts'])
  })

  it('has no cycle through durable-objects/', () => {
    // Walk from each object's imports, leaving out the entry and env.ts: reaching an object again is a cycle.
    const cycles: string[] = []
    for (const start of [...files].filter(isObject)) {
      const seen = new Set<string>()
      const stack: [string, string[]][] = graph.get(start)!.map((i) => [i.target, [start, i.target]])
      while (stack.length) {
        const [file, path] = stack.pop()!
        if (file === start) {
          cycles.push(path.map((p) => relative('.', p)).join(' → '))
          continue
        }
        if (seen.has(file) || file === 'src/index.ts') continue
        seen.add(file)
        for (const next of graph.get(file) ?? []) {
          if (file === 'src/env.ts' && next.typeOnly) continue
          stack.push([next.target, [...path, next.target]])
        }
      }
    }
    expect(cycles).toEqual([])
  })
})
