/**
 * ajv, loaded the first time a schema must be compiled while running. `check` of one file needs
 * none (the policy's validators are compiled at build time, the built-in kinds' schemas are read
 * without compiling): loading ajv alone took about as long as starting Node.
 */
import { createRequire } from 'node:module'
import type * as AjvModule from 'ajv'

let loaded: typeof AjvModule | undefined

export function ajvModule(): typeof AjvModule {
  // In the single executable, one CommonJS bundle, `require` is the bundler's and holds ajv; as
  // ES modules (dist/, tests) there is no `require`, so one is made. Synchronous on purpose: a
  // policy is built and a CRD's validator made in synchronous code.
  loaded ??= (typeof require === 'function' ? require('ajv') : createRequire(import.meta.url)('ajv')) as typeof AjvModule
  return loaded
}
