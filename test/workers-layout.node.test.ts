import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The workerd tests run an area at a time: `test/workers/<area>.test.ts` imports every module in
 * the folder `test/workers/<area>/`. A folder without its area file, or an area file that globs
 * another folder, would leave tests that never run and a green suite; these checks catch that.
 */

const workers = join(resolve(dirname(fileURLToPath(import.meta.url))), 'workers')
const entries = readdirSync(workers, { withFileTypes: true })
const areas = entries.filter((e) => e.isDirectory()).map((e) => e.name)
const areaFiles = entries.filter((e) => e.isFile() && e.name.endsWith('.test.ts')).map((e) => e.name)

describe('workerd test layout', () => {
  it('has an area file for every folder of test modules, globbing that folder', () => {
    expect(areas.length).toBeGreaterThan(0)
    for (const area of areas) {
      expect(areaFiles, `test/workers/${area}/ has no ${area}.test.ts`).toContain(`${area}.test.ts`)
      const text = readFileSync(join(workers, `${area}.test.ts`), 'utf8')
      expect(text).toContain(`import.meta.glob('./${area}/*.ts')`)
    }
  })

  it('has no area file without its folder, and no test files inside the folders', () => {
    for (const file of areaFiles) expect(areas).toContain(file.replace(/\.test\.ts$/, ''))
    for (const area of areas) {
      const nested = readdirSync(join(workers, area), { recursive: true, encoding: 'utf8' })
      expect(nested.filter((name) => name.endsWith('.test.ts'))).toEqual([])
      expect(nested.filter((name) => !name.endsWith('.ts'))).toEqual([])
      expect(nested.length).toBeGreaterThan(0)
    }
  })
})
