/**
 * Types for the parts of fengari 0.1.5 (Lua 5.3 in plain JavaScript) that scripts/embedded/lua.ts uses. fengari
 * ships no declarations; its API mirrors the Lua C API, with Lua strings as Uint8Array.
 */
declare module 'fengari' {
  /** An opaque lua_State. */
  export interface LuaState {
    readonly __luaState: unique symbol
  }
  export type LuaString = Uint8Array
  export type LuaJsFunction = (L: LuaState) => number
  export type LuaHook = (L: LuaState, ar: LuaDebug) => void
  export interface LuaDebug {
    currentline: number
  }

  interface Lua {
    LUA_OK: number
    LUA_TNIL: number
    LUA_TBOOLEAN: number
    LUA_TNUMBER: number
    LUA_TSTRING: number
    LUA_TTABLE: number
    LUA_REGISTRYINDEX: number
    LUA_MASKCOUNT: number
    lua_Debug: new () => LuaDebug
    lua_gettop(L: LuaState): number
    lua_settop(L: LuaState, index: number): void
    lua_pop(L: LuaState, n: number): void
    lua_type(L: LuaState, index: number): number
    lua_toboolean(L: LuaState, index: number): boolean
    lua_isinteger(L: LuaState, index: number): boolean
    lua_tointeger(L: LuaState, index: number): number
    lua_tonumber(L: LuaState, index: number): number
    lua_tolstring(L: LuaState, index: number): LuaString
    lua_pushnil(L: LuaState): void
    lua_pushboolean(L: LuaState, b: boolean): void
    lua_pushinteger(L: LuaState, n: number): void
    lua_pushnumber(L: LuaState, n: number): void
    lua_pushstring(L: LuaState, s: LuaString | string): LuaString
    lua_pushjsfunction(L: LuaState, fn: LuaJsFunction): void
    lua_pushvalue(L: LuaState, index: number): void
    lua_pushglobaltable(L: LuaState): void
    lua_createtable(L: LuaState, narr: number, nrec: number): void
    lua_newtable(L: LuaState): void
    lua_rawseti(L: LuaState, index: number, i: number): void
    lua_rawgeti(L: LuaState, index: number, i: number): number
    lua_rawset(L: LuaState, index: number): void
    lua_rawget(L: LuaState, index: number): number
    lua_setfield(L: LuaState, index: number, key: string | LuaString): void
    lua_getfield(L: LuaState, index: number, key: string | LuaString): number
    lua_setglobal(L: LuaState, name: string | LuaString): void
    lua_getglobal(L: LuaState, name: string | LuaString): number
    lua_setmetatable(L: LuaState, index: number): void
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number
    lua_error(L: LuaState): never
    lua_sethook(L: LuaState, hook: LuaHook | null, mask: number, count: number): void
    lua_getstack(L: LuaState, level: number, ar: LuaDebug): number
    lua_getinfo(L: LuaState, what: string | LuaString, ar: LuaDebug): number
  }

  interface LuaAuxLib {
    luaL_newstate(): LuaState
    luaL_loadbuffer(L: LuaState, buff: LuaString, size: number | null, name: LuaString): number
    luaL_requiref(L: LuaState, name: string | LuaString, open: LuaJsFunction, global: number): void
    luaL_ref(L: LuaState, table: number): number
    luaL_unref(L: LuaState, table: number, ref: number): void
  }

  interface LuaLib {
    luaopen_base: LuaJsFunction
    luaopen_table: LuaJsFunction
    luaopen_string: LuaJsFunction
    luaopen_math: LuaJsFunction
  }

  const fengari: {
    lua: Lua
    lauxlib: LuaAuxLib
    lualib: LuaLib
    to_luastring(s: string): LuaString
    to_jsstring(s: LuaString, from?: number, to?: number, replacementChar?: boolean): string
  }
  export default fengari
}
