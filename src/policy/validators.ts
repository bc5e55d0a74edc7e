/**
 * The policy file's validators: the policy schema and every rule's parameter schema. `npm run
 * build` compiles them ahead of time (scripts/build-validators.mjs writes
 * dist/policy/validators.generated.cjs with ajv's standalone code), so that a run reads a policy
 * without loading ajv: compiling 47 schemas at start-up cost `check` of one file more than
 * everything else it did. A schema the generated file does not hold as it is now (running from
 * the sources, a rule added since the build, the single executable, a test's own rule) is
 * compiled at run time with the same options, so both give the same errors.
 *
 * The shipped policies are carried beside it (dist/policy/policies.generated.json): their text,
 * what it reads as, and what the validators made of it. A run on a shipped policy then loads
 * neither a YAML reader nor, while the schemas are those of the build, the validators: `check`
 * of one file spent more on reading the default policy than on judging the file.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isDeepStrictEqual } from 'node:util'
import type { Ajv, ValidateFunction } from 'ajv'
import { ajvModule } from '../lazy-modules.js'
import { inSingleExecutable } from './builtin.js'

/** The options every policy validator is compiled with, ahead of time or not. */
export const POLICY_AJV_OPTIONS = { allErrors: true, strict: true, useDefaults: true, coerceTypes: false, removeAdditional: false } as const

/** The generated module's name beside this one in dist/policy/. */
export const GENERATED_FILE = 'validators.generated.cjs'

/** The schema of each export, as JSON, so that a stale export is never used. */
export const SOURCES_EXPORT = 'sources'

interface Generated {
  [name: string]: unknown
  sources?: Record<string, string>
}

/** The shipped policies' file beside this module in dist/policy/. */
export const SHIPPED_FILE = 'policies.generated.json'

/** A shipped policy as the build read it. */
export interface ShippedPolicy {
  text: string
  /** What the text reads as (the yaml package, as a policy file is read). */
  content: unknown
  /**
   * What the validators made of it: the content with the policy schema's defaults filled in,
   * and each rule's parameters with theirs. Absent when the policy did not validate.
   */
  validated?: { content: unknown; params: Record<string, Record<string, unknown>> }
}

export interface ShippedPolicies {
  /** The schemas `validated` was made with (`schemasKey`): used only while they are the same. */
  schemas: string
  policies: ShippedPolicy[]
}

/** The policy schema and every rule's id and parameter schema, as one text: what validating a policy depends on. */
export function schemasKey(policySchema: object, rules: readonly { id: string; params: object }[]): string {
  return JSON.stringify([policySchema, rules.map((r) => [r.id, r.params])])
}

let generated: Generated | null | undefined
let runtime: Ajv | undefined

/**
 * A build output beside this module, as `load` reads it; null where there is none: running from
 * the sources (`missing` is the error code of a file not there) or as the single executable,
 * which can require built-in modules only and compiles and reads at run time.
 */
function buildOutput<T>(load: () => T, missing: string): T | null {
  if (inSingleExecutable()) return null
  try {
    return load()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== missing) throw err
    return null
  }
}

function generatedModule(): Generated | null {
  if (generated === undefined) generated = buildOutput(() => createRequire(import.meta.url)(`./${GENERATED_FILE}`) as Generated, 'MODULE_NOT_FOUND')
  return generated
}

/**
 * The validator of `schema`, exported as `name` by the generated module when it was generated
 * from this very schema, else compiled now.
 */
export function policyValidator(name: string, schema: object): ValidateFunction {
  const mod = generatedModule()
  const fn = mod?.[name]
  if (typeof fn === 'function' && mod?.sources?.[name] === JSON.stringify(schema)) return fn as ValidateFunction
  runtime ??= new (ajvModule().Ajv)(POLICY_AJV_OPTIONS)
  return runtime.compile(schema)
}

let shipped: ShippedPolicies | null | undefined

/** The shipped policies as the build read them; null when running from the sources or as the single executable. */
export function shippedPolicies(): ShippedPolicies | null {
  if (shipped === undefined) shipped = buildOutput(() => JSON.parse(readFileSync(new URL(`./${SHIPPED_FILE}`, import.meta.url), 'utf8')) as ShippedPolicies, 'ENOENT')
  return shipped
}

/** The export name of a rule's parameter schema. */
export const paramsExportName = (ruleId: string): string => `params:${ruleId}`
export const POLICY_EXPORT = 'policy'

/**
 * The generated module's text (CommonJS): ajv's standalone code for the policy schema and each
 * rule's parameter schema, and their JSON under `sources`. Run by the build, and by the test
 * that compares it with the run-time compilation.
 */
export function generatedValidatorsCode(
  policySchema: object,
  rules: readonly { id: string; params: object }[],
  standaloneCode: (ajv: Ajv, refs: Record<string, string>) => string,
): string {
  const ajv = new (ajvModule().Ajv)({ ...POLICY_AJV_OPTIONS, code: { source: true } })
  const refs: Record<string, string> = {}
  const sources: Record<string, string> = {}
  const add = (name: string, schema: object): void => {
    // Keys without ':' or '/': ajv reads a schema's key as a URI.
    const key = `s${Object.keys(refs).length}`
    ajv.addSchema(schema, key)
    refs[name] = key
    sources[name] = JSON.stringify(schema)
  }
  add(POLICY_EXPORT, policySchema)
  for (const r of rules) add(paramsExportName(r.id), r.params)
  return (
    `// Generated by scripts/build-validators.mjs from the policy schema and the rules' parameter schemas; not edited by hand.\n${standaloneCode(ajv, refs)}\n` +
    `exports[${JSON.stringify(SOURCES_EXPORT)}] = ${JSON.stringify(sources)};\n`
  )
}

/** True when JSON keeps `value` as it is (a .inf or a date would not be kept). */
export const jsonKeeps = (value: unknown): boolean => isDeepStrictEqual(JSON.parse(JSON.stringify(value)) as unknown, value)
