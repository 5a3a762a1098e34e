/**
 * Redis scripting (EVAL/EVALSHA/SCRIPT) for the in-process Redis, on fengari (Lua 5.3 in plain JavaScript).
 *
 * Redis runs Lua 5.1; what scripts can observe of the difference is handled here so that @upstash/ratelimit's
 * scripts (and ordinary ones) behave as on Redis 7.0:
 * - Conversions follow Redis, not fengari-interop (whose JS proxies turn a missing HMGET field into `js.null`,
 *   which is truthy, instead of `false` — the "nil/array conversion" ioredis-mock gets wrong): nil bulk → false,
 *   integer → number, status → {ok=…}, error → {err=…}, arrays → tables, recursively. Returned values go back the
 *   Redis way: numbers truncate to integers, false → nil, true → 1, {err}/{ok} → error/status, arrays stop at the
 *   first nil.
 * - Numbers passed to redis.call are printed like Redis's "%.17g" (Lua 5.3 would print 3.0 for a float 3).
 * - Lua 5.1 globals scripts use are provided (unpack, loadstring, math.pow, table.getn); the global table is
 *   protected as in Redis 7 (reading an undefined global or creating one is an error).
 * - A `#!lua flags=…` first line is validated like Redis 7.0 does (unknown flags are rejected).
 * Not provided: cjson, cmsgpack, struct, bit, and RESP3 (redis.setresp(3)). Known difference: Lua 5.3 turns an
 * integral float into text with ".0" (`10/2 .. ""` is "5.0" where Redis gives "5"), and fengari's string
 * arithmetic yields floats ("10" + 1 is 11.0); numbers handed to redis.call or returned are not affected.
 *
 * One Lua state lives as long as the Redis; each script is compiled once and kept by SHA1, like Redis does.
 * Scripts run synchronously on the Node event loop, so a runaway script would freeze the whole dev server: it is
 * stopped after `timeLimitMs` (Redis would keep running it and answer BUSY to everyone else).
 */
import { createHash } from 'node:crypto'
import fengari, { type LuaDebug, type LuaState, type LuaString } from 'fengari'
import { type Reply, ReplyError, StatusReply, formatDouble } from './replies'

const { lua, lauxlib, lualib } = fengari

/** Flags Redis 7.0 accepts in a `#!lua flags=…` shebang. */
const KNOWN_SCRIPT_FLAGS = new Set([
  'no-writes',
  'allow-oom',
  'allow-stale',
  'no-cluster',
  'allow-cross-slot-keys',
])
const CHUNK_NAME = fengari.to_luastring('@user_script')
/** Deep enough for any real reply; stops a self-referencing table from recursing forever. */
const MAX_REPLY_DEPTH = 100
/** Lua integers outside ±2^63 do not exist; Redis answers LLONG_MIN for NaN and infinities. */
const LLONG_MIN = -9223372036854775808

const PRELUDE = `
local jscall, jspcall, jssha1hex, jslog = ...
dofile = nil
loadfile = nil
unpack = table.unpack
loadstring = load
math.pow = math.pow or function(x, y) return x ^ y end
table.getn = table.getn or function(t) return #t end
redis = {
  call = jscall,
  pcall = jspcall,
  sha1hex = jssha1hex,
  log = jslog,
  error_reply = function(message) return { err = message } end,
  status_reply = function(message) return { ok = message } end,
  setresp = function(version)
    if version ~= 2 then error("the in-process Redis speaks RESP2 only", 2) end
  end,
  set_repl = function() end,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
}
setmetatable(_G, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
})
`

/** Runs one Redis command for a script; throws ReplyError for error replies. */
export type ScriptCommandRunner = (args: string[], options: { readOnly: boolean }) => Reply

function sha1(text: string | Uint8Array): string {
  return createHash('sha1').update(text).digest('hex')
}

function jsString(bytes: LuaString): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
}

export class LuaScripting {
  private readonly L: LuaState
  /** Compiled scripts by SHA1 of the full text: reference in the Lua registry, and `flags=no-writes`. */
  private readonly scripts = new Map<string, { ref: number; noWrites: boolean }>()
  private deadline = 0
  private readOnly = false
  /** The last error redis.call raised, to tell where it happened if the script does not catch it. */
  private raised: { message: string; line: number | undefined } | undefined

  constructor(
    private readonly runCommand: ScriptCommandRunner,
    private readonly timeLimitMs = 5000,
  ) {
    const L = lauxlib.luaL_newstate()
    this.L = L
    // Only the libraries Redis loads: no io, os, package or debug.
    for (const [name, open] of [
      ['_G', lualib.luaopen_base],
      ['table', lualib.luaopen_table],
      ['string', lualib.luaopen_string],
      ['math', lualib.luaopen_math],
    ] as const) {
      lauxlib.luaL_requiref(L, name, open, 1)
      lua.lua_pop(L, 1)
    }
    if (
      lauxlib.luaL_loadbuffer(L, fengari.to_luastring(PRELUDE), null, fengari.to_luastring('=prelude')) !== 0
    ) {
      throw new Error(`Lua prelude failed to compile: ${jsString(lua.lua_tolstring(L, -1))}`)
    }
    lua.lua_pushjsfunction(L, (state) => this.redisCall(state, true))
    lua.lua_pushjsfunction(L, (state) => this.redisCall(state, false))
    lua.lua_pushjsfunction(L, (state) => {
      const text = lua.lua_type(state, 1) === lua.LUA_TSTRING ? lua.lua_tolstring(state, 1) : new Uint8Array()
      lua.lua_pushstring(state, sha1(text))
      return 1
    })
    lua.lua_pushjsfunction(L, (state) => {
      const parts: string[] = []
      for (let i = 2; i <= lua.lua_gettop(state); i++) {
        const text = lua.lua_tolstring(state, i)
        if (text) parts.push(jsString(text))
      }
      console.log(`[in-process redis] script log: ${parts.join(' ')}`)
      return 0
    })
    if (lua.lua_pcall(L, 4, 0, 0) !== lua.LUA_OK) {
      throw new Error(`Lua prelude failed: ${jsString(lua.lua_tolstring(L, -1))}`)
    }
  }

  static sha1(body: string): string {
    return sha1(body)
  }

  /** SCRIPT LOAD: compiles and remembers the script, returns its SHA1. */
  load(body: string): string {
    const sha = sha1(body)
    if (this.scripts.has(sha)) return sha
    const L = this.L
    const { code: text, noWrites } = parseShebang(body)
    const code = Buffer.from(text, 'utf8')
    if (lauxlib.luaL_loadbuffer(L, code, code.length, CHUNK_NAME) !== lua.LUA_OK) {
      const message = jsString(lua.lua_tolstring(L, -1))
      lua.lua_settop(L, 0)
      throw new ReplyError(`ERR Error compiling script (new function): ${message}`)
    }
    this.scripts.set(sha, { ref: lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX), noWrites })
    return sha
  }

  exists(sha: string): boolean {
    return this.scripts.has(sha.toLowerCase())
  }

  flush(): void {
    for (const { ref } of this.scripts.values()) lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref)
    this.scripts.clear()
  }

  eval(body: string, keys: string[], argv: string[], readOnly: boolean): Reply {
    return this.evalsha(this.load(body), keys, argv, readOnly)
  }

  evalsha(shaArg: string, keys: string[], argv: string[], readOnly: boolean): Reply {
    const sha = shaArg.toLowerCase()
    const script = this.scripts.get(sha)
    if (script === undefined) throw new ReplyError('NOSCRIPT No matching script. Please use EVAL.')
    const L = this.L
    lua.lua_settop(L, 0)
    this.setGlobalArray('KEYS', keys)
    this.setGlobalArray('ARGV', argv)
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, script.ref)
    this.deadline = Date.now() + this.timeLimitMs
    this.readOnly = readOnly || script.noWrites
    this.raised = undefined
    lua.lua_sethook(L, this.hook, lua.LUA_MASKCOUNT, 10_000)
    try {
      const status = lua.lua_pcall(L, 0, 1, 0)
      if (status !== lua.LUA_OK) throw this.scriptError(sha)
      const reply = this.toReply(-1, 0)
      // A returned {err = …} is the script's error reply.
      if (reply instanceof ReplyError) throw reply
      return reply
    } finally {
      lua.lua_sethook(L, null, 0, 0)
      lua.lua_settop(L, 0)
    }
  }

  private readonly hook = (L: LuaState): void => {
    if (Date.now() > this.deadline) {
      lua.lua_pushstring(
        L,
        `ERR script ran longer than ${this.timeLimitMs} ms and was stopped by the in-process Redis ` +
          '(every client waits while a script runs)',
      )
      lua.lua_error(L)
    }
  }

  private setGlobalArray(name: string, values: string[]): void {
    const L = this.L
    // rawset: the global table's metatable refuses ordinary assignments.
    lua.lua_pushglobaltable(L)
    lua.lua_pushstring(L, name)
    lua.lua_createtable(L, values.length, 0)
    values.forEach((value, i) => {
      lua.lua_pushstring(L, Buffer.from(value, 'utf8'))
      lua.lua_rawseti(L, -2, i + 1)
    })
    lua.lua_rawset(L, -3)
    lua.lua_pop(L, 1)
  }

  /** redis.call (raise = true) and redis.pcall (raise = false). */
  private redisCall(L: LuaState, raise: boolean): number {
    const outcome = this.runFromLua(L)
    if (!(outcome instanceof ReplyError)) {
      this.pushReply(L, outcome, 0)
      return 1
    }
    if (!raise) {
      // redis.pcall returns the error as a table, as Redis 7.0 does.
      lua.lua_createtable(L, 0, 1)
      lua.lua_pushstring(L, Buffer.from(outcome.message, 'utf8'))
      lua.lua_setfield(L, -2, 'err')
      return 1
    }
    // redis.call raises the bare message (what Lua's pcall around it sees on Redis 7.0); where it happened is kept
    // aside for the error reply should the script not catch it.
    const ar: LuaDebug = new lua.lua_Debug()
    const line = lua.lua_getstack(L, 1, ar) && lua.lua_getinfo(L, 'l', ar) ? ar.currentline : undefined
    this.raised = { message: outcome.message, line }
    lua.lua_pushstring(L, Buffer.from(outcome.message, 'utf8'))
    return lua.lua_error(L)
  }

  /** Reads the command from the Lua stack and runs it; never throws (a JS exception would escape fengari). */
  private runFromLua(L: LuaState): Reply {
    const argc = lua.lua_gettop(L)
    if (argc === 0) return new ReplyError('ERR Please specify at least one argument for this redis lib call')
    const args: string[] = []
    for (let i = 1; i <= argc; i++) {
      const type = lua.lua_type(L, i)
      if (type === lua.LUA_TSTRING) args.push(jsString(lua.lua_tolstring(L, i)))
      else if (type === lua.LUA_TNUMBER) {
        args.push(
          lua.lua_isinteger(L, i) ? String(lua.lua_tointeger(L, i)) : formatDouble(lua.lua_tonumber(L, i)),
        )
      } else return new ReplyError('ERR Lua redis lib command arguments must be strings or integers')
    }
    try {
      return this.runCommand(args, { readOnly: this.readOnly })
    } catch (error) {
      return error instanceof ReplyError ? error : new ReplyError(`ERR ${String(error)}`)
    }
  }

  private pushReply(L: LuaState, reply: Reply, depth: number): void {
    if (reply === null) lua.lua_pushboolean(L, false)
    else if (typeof reply === 'number') {
      if (Number.isSafeInteger(reply)) lua.lua_pushinteger(L, reply)
      else lua.lua_pushnumber(L, reply)
    } else if (typeof reply === 'string') lua.lua_pushstring(L, Buffer.from(reply, 'utf8'))
    else if (reply instanceof StatusReply) {
      lua.lua_createtable(L, 0, 1)
      lua.lua_pushstring(L, reply.status)
      lua.lua_setfield(L, -2, 'ok')
    } else if (reply instanceof ReplyError) {
      lua.lua_createtable(L, 0, 1)
      lua.lua_pushstring(L, Buffer.from(reply.message, 'utf8'))
      lua.lua_setfield(L, -2, 'err')
    } else {
      lua.lua_createtable(L, reply.length, 0)
      if (depth < MAX_REPLY_DEPTH) {
        reply.forEach((item, i) => {
          this.pushReply(L, item, depth + 1)
          lua.lua_rawseti(L, -2, i + 1)
        })
      }
    }
  }

  /** Converts the Lua value at `index` the way Redis turns a script's return value into a reply. */
  private toReply(index: number, depth: number): Reply {
    const L = this.L
    const type = lua.lua_type(L, index)
    if (type === lua.LUA_TNUMBER) {
      if (lua.lua_isinteger(L, index)) return lua.lua_tointeger(L, index)
      const value = lua.lua_tonumber(L, index)
      return Number.isFinite(value) ? Math.trunc(value) : LLONG_MIN
    }
    if (type === lua.LUA_TSTRING) return jsString(lua.lua_tolstring(L, index))
    if (type === lua.LUA_TBOOLEAN) return lua.lua_toboolean(L, index) ? 1 : null
    if (type !== lua.LUA_TTABLE || depth >= MAX_REPLY_DEPTH) return null
    // An absolute index, because the lookups below push onto the stack.
    const table = index < 0 ? lua.lua_gettop(L) + index + 1 : index
    if (lua.lua_getfield(L, table, 'err') === lua.LUA_TSTRING) {
      const message = jsString(lua.lua_tolstring(L, -1))
      lua.lua_pop(L, 1)
      return new ReplyError(message)
    }
    lua.lua_pop(L, 1)
    if (lua.lua_getfield(L, table, 'ok') === lua.LUA_TSTRING) {
      const status = jsString(lua.lua_tolstring(L, -1))
      lua.lua_pop(L, 1)
      return new StatusReply(status)
    }
    lua.lua_pop(L, 1)
    const items: Reply[] = []
    for (let i = 1; ; i++) {
      if (lua.lua_rawgeti(L, table, i) === lua.LUA_TNIL) {
        lua.lua_pop(L, 1)
        break
      }
      items.push(this.toReply(-1, depth + 1))
      lua.lua_pop(L, 1)
    }
    return items
  }

  /** The error a failed script answers with, worded like Redis 7.0 ("… script: <sha>, on @user_script:<line>."). */
  private scriptError(sha: string): ReplyError {
    const L = this.L
    const type = lua.lua_type(L, -1)
    let message = 'ERR unknown error'
    let line: number | undefined
    if (type === lua.LUA_TTABLE) {
      if (lua.lua_getfield(L, -1, 'err') === lua.LUA_TSTRING) message = jsString(lua.lua_tolstring(L, -1))
      lua.lua_pop(L, 1)
    } else if (type === lua.LUA_TSTRING) {
      const text = jsString(lua.lua_tolstring(L, -1))
      if (this.raised?.message === text) {
        message = text
        line = this.raised.line
      } else {
        // Errors raised by the bridge itself already carry a code; Lua's own ("user_script:3: …") get ERR.
        message = /^[A-Z]+ /.test(text) ? text : `ERR ${text}`
        const match = /^(?:ERR )?user_script:(\d+):/.exec(message)
        if (match) line = Number(match[1])
      }
    }
    return new ReplyError(
      `${message} script: ${sha}${line === undefined ? '' : `, on @user_script:${line}.`}`,
    )
  }
}

/**
 * Validates a `#!lua …` first line like Redis 7.0 and returns the code to compile. The shebang line is blanked
 * rather than removed so line numbers in error messages match the script as sent.
 */
function parseShebang(body: string): { code: string; noWrites: boolean } {
  if (!body.startsWith('#!')) return { code: body, noWrites: false }
  let noWrites = false
  const eol = body.indexOf('\n')
  const words = (eol === -1 ? body : body.slice(0, eol)).slice(2).trim().split(/\s+/)
  if (words[0] !== 'lua') throw new ReplyError(`ERR Unexpected engine in script shebang: ${words[0] ?? ''}`)
  for (const word of words.slice(1)) {
    if (!word.startsWith('flags=')) throw new ReplyError(`ERR Unknown lua shebang option: ${word}`)
    for (const flag of word.slice('flags='.length).split(',')) {
      if (flag !== '' && !KNOWN_SCRIPT_FLAGS.has(flag)) {
        throw new ReplyError(`ERR Unexpected flag in script shebang: ${flag}`)
      }
      if (flag === 'no-writes') noWrites = true
    }
  }
  return { code: eol === -1 ? '' : body.slice(eol), noWrites }
}
