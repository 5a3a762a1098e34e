import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { patchPoolWorkers, poolWorkersInternals } from './setup/pool-workers-patch.ts'

const work = mkdtempSync(join(tmpdir(), 'rapport-pool-patch-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** The pool's class wrapper, taken from the installed file and made callable here. */
function installedWrapper(): (
  superClass: new (...args: unknown[]) => object,
  unknownKey: (key: string) => unknown,
) => new (...args: unknown[]) => object {
  const text = readFileSync(poolWorkersInternals, 'utf8')
  const start = text.indexOf('function createProxyPrototypeClass(')
  const end = text.indexOf('\n}\n', start)
  expect(start).toBeGreaterThan(-1)
  const source = text.slice(start, end + 2)
  return new Function('IGNORED_KEYS', `${source}\nreturn createProxyPrototypeClass`)(['self'])
}

describe('the fix to the Workers pool', () => {
  it('is applied to the installed pool: the wrapped prototype stays one Proxy however many instances are made', () => {
    // vitest loaded its config (which patches) before this file ran.
    expect(patchPoolWorkers()).toBe('already')
    class Base {
      greet() {
        return 'hi'
      }
    }
    const Wrapped = installedWrapper()(Base, (key) => `unknown:${key}`)
    const instance = new Wrapped() as Base & Record<string | symbol, unknown>
    const proxied = Wrapped.prototype
    for (let i = 0; i < 50; i++) new Wrapped()
    expect(Wrapped.prototype).toBe(proxied)
    // Inherited names come from the class; unknown ones from the pool's fallback; symbols and
    // `self` from nowhere.
    expect(instance.greet()).toBe('hi')
    expect(instance.somethingElse).toBe('unknown:somethingElse')
    expect(instance.self).toBeUndefined()
    expect(instance[Symbol('x')]).toBeUndefined()
  })

  it('patches the released text once, atomically, and leaves any other text alone', () => {
    const released = [
      'function createProxyPrototypeClass(superClass, getUnknownPrototypeKey) {',
      '\tfunction Class(...args) {',
      '\t\tClass.prototype = new Proxy(Class.prototype, { get(target, key, receiver) {',
      '\t\t\treturn Reflect.get(target, key, receiver);',
      '\t\t} });',
      '\t\treturn Reflect.construct(superClass, args, Class);',
      '\t}',
      '\treturn Class;',
      '}',
      '',
    ].join('\n')
    const file = join(work, 'test-internal.mjs')
    writeFileSync(file, released)
    expect(patchPoolWorkers(file)).toBe('patched')
    const patched = readFileSync(file, 'utf8')
    expect(patched).toContain('if (!prototypeProxied) prototypeProxied = true, Class.prototype = new Proxy(')
    expect(patchPoolWorkers(file)).toBe('already')
    expect(readFileSync(file, 'utf8')).toBe(patched)

    const other = released.replace('\t\tClass.prototype = new Proxy', '\t\tClass.prototype ??= new Proxy')
    writeFileSync(file, other)
    expect(patchPoolWorkers(file)).toBe('unknown')
    expect(readFileSync(file, 'utf8')).toBe(other)
  })
})
