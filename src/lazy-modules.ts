/**
 * Packages loaded the first time they are used, not when the CLI starts: `check` of one file
 * needs neither (the policy's validators are compiled at build time, the built-in kinds' schemas
 * read without compiling, documents read with js-yaml), and loading ajv or the yaml package took
 * about as long as starting Node each.
 *
 * Synchronous on purpose: a policy is built, a CRD's validator made and a position looked up in
 * synchronous code. In the single executable, one CommonJS bundle, `require` is the bundler's
 * and holds both packages (it bundles `require('…')` calls written out); as ES modules (dist/,
 * tests) there is no `require`, so one is made.
 */
import { createRequire } from 'node:module'
import type * as AjvModule from 'ajv'
import type * as YamlModule from 'yaml'
import type * as ChildProcessModule from 'node:child_process'

let ajv: typeof AjvModule | undefined
let yaml: typeof YamlModule | undefined
let childProcess: typeof ChildProcessModule | undefined

export function ajvModule(): typeof AjvModule {
  ajv ??= (typeof require === 'function' ? require('ajv') : createRequire(import.meta.url)('ajv')) as typeof AjvModule
  return ajv
}

export function yamlModule(): typeof YamlModule {
  yaml ??= (typeof require === 'function' ? require('yaml') : createRequire(import.meta.url)('yaml')) as typeof YamlModule
  return yaml
}

/**
 * node:child_process, which only `--kustomize` and `--helm` renderers use: loading it took about
 * 5 ms of every start. The single executable cannot import() a built-in, so require it is.
 */
export function childProcessModule(): typeof ChildProcessModule {
  childProcess ??= (typeof require === 'function' ? require('node:child_process') : createRequire(import.meta.url)('node:child_process')) as typeof ChildProcessModule
  return childProcess
}
